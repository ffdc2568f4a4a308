"""Several processes fire timers at once on PostgreSQL: each batch claims its timer and
instance rows with FOR UPDATE SKIP LOCKED inside the firing transaction, so two sweepers
share a burst and never fire one instance twice (engine/domain/timer_claims.py)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.domain import timer_claims
from engine.store.models import HistoryEvent, Timer, User, utcnow

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_demo(demo):
    if demo.db.is_sqlite:
        pytest.skip("PostgreSQL only (SANCHIKA_TEST_DATABASE_URL): SQLite has one firer")
    return demo


def _open_due_files(app: Sanchika, clock, n: int) -> list[int]:
    quick = Sanchika(Settings(**{**app.settings.__dict__, "sla_default": "PT1S"}),
                     handlers.registry)
    try:
        with quick.db.reader() as s:
            clerk = s.scalar(select(User).where(User.username == "clerk"))
        ids = [quick.open_file(clerk, f"Burst {i}", "11011")["instance_id"] for i in range(n)]
    finally:
        quick.db.dispose()
    clock.advance(1.5)
    return ids


def test_two_open_claims_take_disjoint_timers(pg_demo, clock):
    ids = _open_due_files(pg_demo, clock, 6)
    db = pg_demo.db
    with db.transaction() as first, db.transaction() as second:
        mine = timer_claims.claim_due(first, 4, set(), utcnow())
        theirs = timer_claims.claim_due(second, 4, set(), utcnow())
        assert len(mine) == 4
        assert len(theirs) == 2  # only what the first has not locked
        assert not set(mine) & set(theirs)
        assert set(mine) | set(theirs) == set(ids)
        first.rollback()  # nothing fired: both batches go back to pending
        second.rollback()
    with db.reader() as s:
        assert set(s.scalars(select(Timer.status).where(Timer.instance_id.in_(ids)))) == {
            "pending"}


def test_two_sweepers_both_fire_and_never_one_instance_twice(pg_demo, clock):
    ids = _open_due_files(pg_demo, clock, 24)
    apps = [Sanchika(pg_demo.settings, handlers.registry) for _ in range(2)]
    for app in apps:
        app.timer_batch = 2  # many small batches, so the two sweepers interleave
    fired = [0, 0]
    start = threading.Barrier(2)

    def sweep(k: int) -> None:
        start.wait()
        while (n := apps[k].fire_due_timers()) > 0:
            fired[k] += n

    threads = [threading.Thread(target=sweep, args=(k,)) for k in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for app in apps:
            app.db.dispose()
    with pg_demo.db.reader() as s:
        events = Counter(s.scalars(select(HistoryEvent.instance_id).where(
            HistoryEvent.kind == "timer_fired", HistoryEvent.instance_id.in_(ids))))
        pending = s.scalar(select(Timer.id).where(Timer.instance_id.in_(ids),
                                                  Timer.status == "pending",
                                                  Timer.due_at <= utcnow()).limit(1))
    assert sorted(events) == sorted(ids)  # every instance fired...
    assert set(events.values()) == {1}  # ...exactly once
    assert pending is None
    assert sum(fired) == len(ids)
    assert all(n > 0 for n in fired), fired  # both sweepers took a share
