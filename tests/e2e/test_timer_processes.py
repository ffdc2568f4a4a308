"""Timers across real server processes: `sanchika serve` killed with SIGKILL and restarted
across a timer's due time fires it exactly once; two servers on one database fire every
timer exactly once, and when the lease holder is killed the other takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from engine.store.models import HistoryEvent, Instance, Timer, utcnow
from engine.store.sla_models import SchedulerLease
from tests.conftest import PASSWORD, _free_port

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """One `python -m web.cli.main serve` process on a free loopback port."""

    def __init__(self, settings, log: Path, sla: str, extra_env: dict[str, str] | None = None,
                 wait: bool = True):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SANCHIKA_")}
        env.update(SANCHIKA_DATABASE_URL=settings.database_url,
                   SANCHIKA_DATA_DIR=str(settings.data_dir),
                   SANCHIKA_SECRET_KEY=settings.secret_key, SANCHIKA_SLA_DEFAULT=sla,
                   PYTHONUNBUFFERED="1")
        env.update(extra_env or {})
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "web.cli.main", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--threads", "4"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.base}/api/v1/openapi.json", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start in 30 s: {self.log.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)  # reaped, as init would

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self, username: str) -> str:
        r = requests.post(f"{self.base}/api/v1/auth/token",
                          json={"username": username, "password": PASSWORD}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def open_file(self, token: str, subject: str) -> dict:
        r = requests.post(f"{self.base}/api/v1/files", json={"subject": subject, "head": "11011"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def servers(demo, tmp_path):
    started: list[Server] = []

    def start(sla: str, count: int = 1) -> list[Server]:
        """`count` servers, started side by side (each takes seconds to import)."""
        new = [Server(demo.settings, tmp_path / f"server{len(started) + i}.log", sla,
                      wait=False) for i in range(count)]
        started.extend(new)
        for server in new:
            server.wait_ready()
        return new

    yield start
    for server in started:
        server.stop()


def fired_counts(app, instance_ids: list[int]) -> dict[int, int]:
    with app.db.reader() as s:
        rows = dict(s.execute(
            select(HistoryEvent.instance_id, func.count())
            .where(HistoryEvent.instance_id.in_(instance_ids),
                   HistoryEvent.kind == "timer_fired")
            .group_by(HistoryEvent.instance_id)).all())
    return {i: rows.get(i, 0) for i in instance_ids}


def escalations(app, instance_id: int) -> int:
    with app.db.reader() as s:
        return s.scalar(select(func.count()).where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "handler_called",
            HistoryEvent.task_spec == "escalate_noting"))


def wait_fired(app, instance_ids: list[int], timeout: float) -> dict[int, int]:
    deadline = time.monotonic() + timeout
    counts = fired_counts(app, instance_ids)
    while time.monotonic() < deadline and not all(counts.values()):
        time.sleep(0.2)
        counts = fired_counts(app, instance_ids)
    return counts


def due_of(app, instance_id: int) -> datetime:
    with app.db.reader() as s:
        return s.scalar(select(Timer.due_at).where(Timer.instance_id == instance_id))


def lease_holder_pid(app) -> int | None:
    with app.db.reader() as s:
        row = s.get(SchedulerLease, "timers")
        if row is None or row.expires_at < utcnow():
            return None
        return int(row.holder.split(":")[1])


def test_sigkill_before_due_and_restart_after_fires_exactly_once(demo, servers):
    (first,) = servers("PT3S")
    token = first.token("clerk")
    file = first.open_file(token, "Survives a crash")
    instance_id = file["instance_id"]
    due = due_of(demo, instance_id)
    first.kill()
    assert utcnow() < due, "the server must die before the timer is due"

    # Nobody is running: the due time passes and nothing fires.
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 1.0)
    assert fired_counts(demo, [instance_id]) == {instance_id: 0}
    with demo.db.reader() as s:
        assert s.scalar(select(Timer.status).where(Timer.instance_id == instance_id)) == "pending"

    (restarted,) = servers("PT3S")
    counts = wait_fired(demo, [instance_id], timeout=15)
    time.sleep(1.5)  # several more sweeps: still exactly one firing
    assert fired_counts(demo, [instance_id]) == {instance_id: 1}
    assert counts[instance_id] == 1
    assert escalations(demo, instance_id) == 1
    with demo.db.reader() as s:
        assert s.scalar(select(Timer.status).where(Timer.instance_id == instance_id)) == "fired"
        assert s.get(Instance, instance_id).status == "running"  # the task is still open
    assert restarted.proc.poll() is None


def test_two_servers_fire_each_timer_once_and_fail_over(demo, servers):
    a, b = servers("PT1S", count=2)
    by_pid = {a.pid: a, b.pid: b}
    holder = lease_holder_pid(demo)
    assert holder in by_pid, "one of the two servers holds the scheduler lease"
    tokens = {s.pid: s.token("clerk") for s in (a, b)}
    first_batch = [s.open_file(tokens[s.pid], f"Pair {i}")["instance_id"]
                   for i, s in enumerate([a, b] * 4)]
    counts = wait_fired(demo, first_batch, timeout=15)
    time.sleep(1.5)
    assert fired_counts(demo, first_batch) == dict.fromkeys(first_batch, 1), counts
    assert all(escalations(demo, i) == 1 for i in first_batch)

    # The holder dies; the survivor takes the lease within seconds and fires new timers.
    by_pid[holder].kill()
    survivor = b if holder == a.pid else a
    second_batch = [survivor.open_file(tokens[survivor.pid], f"After failover {i}")
                    ["instance_id"] for i in range(3)]
    deadline = time.monotonic() + 30  # a deadline, not a timing claim (the lease ttl is 5 s)
    while time.monotonic() < deadline and lease_holder_pid(demo) != survivor.pid:
        time.sleep(0.1)
    assert lease_holder_pid(demo) == survivor.pid
    counts = wait_fired(demo, second_batch, timeout=15)
    time.sleep(1.5)
    assert fired_counts(demo, second_batch) == dict.fromkeys(second_batch, 1), counts
    assert fired_counts(demo, first_batch) == dict.fromkeys(first_batch, 1)
