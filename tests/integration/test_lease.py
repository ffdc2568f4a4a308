"""The scheduler lease: one holder at a time, renewal, expiry, release, and a crashed
holder on this host replaced at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import update

from engine.ops.lease import Lease
from engine.store.models import utcnow
from engine.store.sla_models import SchedulerLease


def test_one_holder_at_a_time_and_takeover_after_expiry(service, clock):
    a, b = (Lease(service.db, ttl=1.0, monotonic=clock.monotonic),
            Lease(service.db, ttl=1.0, monotonic=clock.monotonic))
    assert a.acquire() is True
    assert a.held
    assert b.acquire() is False
    assert not b.held
    assert a.acquire() is True  # renewal
    assert a.current_holder() == a.holder
    clock.advance(1.2)  # a stops renewing (as if it died on another host)
    assert not a.held
    assert b.acquire() is True
    assert a.acquire() is False  # the old holder cannot come back while b renews
    assert b.current_holder() == b.holder


def test_release_hands_over_at_once(service):
    a, b = Lease(service.db, ttl=30.0), Lease(service.db, ttl=30.0)
    assert a.acquire()
    assert not b.acquire()
    a.release()
    assert not a.held
    assert b.acquire()


def test_dead_holder_on_this_host_is_replaced_without_waiting(service):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    a = Lease(service.db, ttl=60.0)
    assert a.acquire()
    with service.db.transaction() as s:  # pretend the finished process held it
        s.execute(update(SchedulerLease).values(
            holder=f"{a.host}:{gone.pid}:deadbeef",
            expires_at=utcnow() + timedelta(seconds=60)))
    b = Lease(service.db, ttl=60.0)
    assert b.acquire() is True
    # A live holder on another host is respected until its lease runs out.
    with service.db.transaction() as s:
        s.execute(update(SchedulerLease).values(
            holder=f"elsewhere:{gone.pid}:deadbeef",
            expires_at=utcnow() + timedelta(seconds=60)))
    assert Lease(service.db, ttl=60.0).acquire() is False


def test_only_one_of_many_contenders_wins(service):
    import threading

    leases = [Lease(service.db, ttl=30.0) for _ in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(leases))

    def contend(lease: Lease) -> None:
        barrier.wait()
        results.append(lease.acquire())

    threads = [threading.Thread(target=contend, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
