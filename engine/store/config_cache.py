"""In-process cache of configuration that every action reads and admins rarely change: SLA
rules, the offices' working calendars with their holidays, the office tree, the posts (code,
approving power, department and office), which post each username holds, the
additional charges in force, the sections with their departments' codes, the subject
heads, the latest version of each process, and who is told about items arriving at a post (with the
channels they switched off in My settings).

Without it every opened task re-read all rules, the calendar and all holidays. One cache
per `Database` (engine/store/db.py); every session of that database finds it in
`session.info`. Freshness:
- in this process, any write session that flushes a change to those tables (an admin
  command, the CLI) drops the cache, and drops it again when it commits, so a reader that
  refilled it meanwhile does not keep the old values;
- another process (a second web worker, the scheduler) sees a change within
  `TTL_SECONDS`, when its copy expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from engine.store.access_models import AdditionalCharge
from engine.store.admin_models import Office
from engine.store.desk_models import UserSetting
from engine.store.models import Department, Post, ProcessDefinition, Section, SubjectHead, User
from engine.store.sla_models import Holiday, SlaRule, WorkCalendar

TTL_SECONDS = 5.0
WATCHED: tuple[type, ...] = (SlaRule, WorkCalendar, Holiday, Post, Section, User, Office,
                             AdditionalCharge, UserSetting, Department, SubjectHead,
                             ProcessDefinition)
INFO_KEY = "config_cache"
_CHANGED = "config_changed"


class ConfigCache:
    def __init__(self, ttl: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, name: str, session: Session, load: Callable[[Session], Any]) -> Any:
        now = self.clock()
        hit = self._values.get(name)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = load(session)
        with self._lock:
            self._values[name] = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._values.clear()

    def watch(self, writes: sessionmaker) -> None:
        """Drop the cache when a write session changes configuration (flush and commit)."""
        event.listen(writes, "after_flush", self._flushed)
        event.listen(writes, "after_commit", self._committed)

    def _flushed(self, session: Session, _ctx: Any) -> None:
        for objects in (session.new, session.dirty, session.deleted):
            if any(isinstance(obj, WATCHED) for obj in objects):
                session.info[_CHANGED] = True
                self.invalidate()
                return

    def _committed(self, session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            self.invalidate()


def get(name: str, session: Session, load: Callable[[Session], Any]) -> Any:
    """The cached value `name` of the session's database, loaded with `load(session)` when
    missing or expired (loaded every time for a session without a cache)."""
    cache = session.info.get(INFO_KEY)
    return load(session) if cache is None else cache.get(name, session, load)
