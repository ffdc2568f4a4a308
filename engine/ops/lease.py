"""A lease in the database that picks the one process whose scheduler fires timers.

Taking and renewing are conditional UPDATEs (`... WHERE holder = me OR expires_at < now`),
atomic on SQLite and PostgreSQL alike, so at most one process holds an unexpired lease.
The holder renews every second or so; when it dies, the lease runs out after `ttl`
seconds and another process takes it. A holder on this host whose process is gone (a
restart after a crash) is replaced at once instead of after the ttl.

Expiry times come from each process's clock: hosts sharing a PostgreSQL database need
synchronised clocks (NTP), as they do for everything else with a due time."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import case, or_, update

from engine.errors import Conflict
from engine.store.db import Database, rows_changed
from engine.store.models import utcnow
from engine.store.sla_models import SchedulerLease


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed but not yet reaped process is a zombie: gone for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Lease:
    def __init__(self, db: Database, name: str = "timers", ttl: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.db = db
        self._monotonic = monotonic  # injectable, so tests move time instead of sleeping
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        self.host = socket.gethostname()
        self.holder = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._valid_until = 0.0  # time.monotonic() until which we know we hold it

    @property
    def held(self) -> bool:
        """True while our last successful renewal is younger than the ttl."""
        return self._monotonic() < self._valid_until

    def acquire(self) -> bool:
        """Take or renew the lease; True if we hold it now."""
        started = self._monotonic()
        try:
            got = self._try()
        except Conflict:  # another process inserted the row first
            got = False
        # Count validity from before the round trip, so we never believe in it too long.
        self._valid_until = started + self.ttl.total_seconds() if got else 0.0
        return got

    def release(self) -> None:
        """Give the lease up (clean shutdown), so another process takes over at once."""
        self._valid_until = 0.0
        with self.db.transaction() as s:
            s.execute(update(SchedulerLease)
                      .where(SchedulerLease.name == self.name,
                             SchedulerLease.holder == self.holder)
                      .values(expires_at=utcnow() - timedelta(seconds=1))
                      .execution_options(synchronize_session=False))

    def current_holder(self) -> str | None:
        with self.db.reader() as s:
            row = s.get(SchedulerLease, self.name)
            return row.holder if row is not None and row.expires_at > utcnow() else None

    def _try(self) -> bool:
        now = utcnow()
        expires = now + self.ttl
        with self.db.transaction() as s:
            renewed = s.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name,
                       or_(SchedulerLease.holder == self.holder,
                           SchedulerLease.expires_at < now))
                .values(holder=self.holder, expires_at=expires,
                        acquired_at=case((SchedulerLease.holder == self.holder,
                                          SchedulerLease.acquired_at), else_=now))
                .execution_options(synchronize_session=False))
            if rows_changed(renewed) == 1:
                return True
            row = s.get(SchedulerLease, self.name)
            if row is None:
                s.add(SchedulerLease(name=self.name, holder=self.holder, expires_at=expires,
                                     acquired_at=now))
                s.flush()
                return True
            if not self._dead_local(row.holder):
                return False
            taken = s.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.holder == row.holder)
                .values(holder=self.holder, expires_at=expires, acquired_at=now)
                .execution_options(synchronize_session=False))
            return rows_changed(taken) == 1

    def _dead_local(self, holder: str) -> bool:
        host, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        return host == self.host and pid.isdigit() and int(pid) != os.getpid() \
            and _pid_gone(int(pid))
