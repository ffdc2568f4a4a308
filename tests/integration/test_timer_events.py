"""Timer start events and intermediate timer events fire like SLA timers, and the sweep
fires each timer once, never early."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from engine.ops import scheduler
from engine.store.models import HistoryEvent, Instance, Timer, User
from tests.clock import Clock

BPMN = Path(__file__).resolve().parents[1] / "data" / "scheduled_check.bpmn"


def _instances(app, process_id: str) -> list[Instance]:
    with app.db.reader() as s:
        return list(s.scalars(select(Instance).where(Instance.process_id == process_id)))


def _timers(app, instance_id: int) -> list[Timer]:
    with app.db.reader() as s:
        return list(s.scalars(select(Timer).where(Timer.instance_id == instance_id)
                              .order_by(Timer.id)))


def test_deploying_a_timer_start_process_schedules_one_instance(service, clock):
    _, created = service.deploy(BPMN.read_bytes(), None)
    assert created
    _, created_again = service.deploy(BPMN.read_bytes(), None)
    assert not created_again  # the same document: no second scheduled instance
    [instance] = _instances(service, "scheduled_check")
    assert instance.status == "running"
    assert instance.subject_kind is None
    [start_timer] = _timers(service, instance.id)
    assert start_timer.task_spec == "every_morning"
    assert start_timer.status == "pending"

    assert service.fire_due_timers() == 0  # not due yet: nothing runs early
    clock.advance_past(start_timer.due_at, margin=-0.05)
    assert service.fire_due_timers() == 0  # a moment before: still nothing
    clock.advance(0.1)
    assert service.fire_due_timers() == 1
    # The body ran up to the intermediate timer, which now waits.
    timers = _timers(service, instance.id)
    assert [(t.task_spec, t.status) for t in timers] == [("every_morning", "fired"),
                                                         ("pause", "pending")]
    workflow = service.runtime.load(service_instance(service, instance.id))
    [paused] = [t for t in workflow.get_tasks() if t.task_spec.name == "pause"]
    assert paused.data["checks"] == 1  # the first script ran, the second waits
    clock.advance_past(timers[1].due_at)
    assert service.fire_due_timers() == 1
    assert service.fire_due_timers() == 0
    [done] = _instances(service, "scheduled_check")
    assert done.status == "completed"
    with service.db.reader() as s:
        fired = list(s.scalars(select(HistoryEvent.task_spec).where(
            HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "timer_fired")))
    assert fired == ["every_morning", "pause"]


def service_instance(app, instance_id: int) -> Instance:
    with app.db.reader() as s:
        instance = s.get(Instance, instance_id)
        instance.definition  # noqa: B018 (load the relationship before the session closes)
        return instance


def test_scheduler_fires_staggered_timers_once_never_early(demo):
    import handlers
    from engine.app import Sanchika
    from engine.config import Settings

    app = Sanchika(Settings(**{**demo.settings.__dict__, "sla_default": "PT2S"}),
                   handlers.registry)
    with app.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    clock = Clock(tick=True).start()  # runs on, as the scheduler needs, and can jump
    jobs = scheduler.start(app)
    try:
        assert jobs.active  # the only process: it holds the lease
        files = []
        for i in range(4):
            files.append(app.open_file(clerk, f"Staggered {i}", "11011"))
            clock.advance(0.35)  # the next file's limit ends 0.35 s later
        deadline = time.monotonic() + 60  # a deadline, not a timing claim
        fired: list[HistoryEvent] = []
        ids = [f["instance_id"] for f in files]
        while time.monotonic() < deadline and len(fired) < len(ids):
            time.sleep(0.1)
            with app.db.reader() as s:
                fired = list(s.scalars(select(HistoryEvent).where(
                    HistoryEvent.instance_id.in_(ids), HistoryEvent.kind == "timer_fired")))
        clock.advance(5)  # long past every limit: more sweeps find nothing more to fire
        assert app.fire_due_timers() == 0
        with app.db.reader() as s:
            fired = list(s.scalars(select(HistoryEvent).where(
                HistoryEvent.instance_id.in_(ids), HistoryEvent.kind == "timer_fired")))
    finally:
        jobs.shutdown(wait=True)
        clock.stop()
        app.db.dispose()
    assert sorted(e.instance_id for e in fired) == sorted(ids)  # each exactly once
    for event in fired:
        assert event.data["lag_ms"] >= 0, event.data
        # the event was written after the due time, never before it
        assert event.at >= _iso(event.data["due_at"])


def _iso(value: str):
    from datetime import datetime
    return datetime.fromisoformat(value)


def test_batched_firing_skips_a_broken_instance_and_fires_the_rest(demo, clock):
    from sqlalchemy import update

    import handlers
    from engine.app import Sanchika
    from engine.config import Settings

    app = Sanchika(Settings(**{**demo.settings.__dict__, "sla_default": "PT1S"}),
                   handlers.registry)
    app.timer_batch = 4
    with app.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    files = [app.open_file(clerk, f"Batch {i}", "11011") for i in range(6)]
    broken = files[2]["instance_id"]
    with app.db.transaction() as s:
        s.execute(update(Instance).where(Instance.id == broken).values(state="{not json"))
    clock.advance(1.1)
    app.fire_due_timers()
    app.fire_due_timers()
    with app.db.reader() as s:
        status = dict(s.execute(select(Timer.instance_id, Timer.status).where(
            Timer.instance_id.in_([f["instance_id"] for f in files]))).all())
        fired = list(s.scalars(select(HistoryEvent.instance_id).where(
            HistoryEvent.kind == "timer_fired",
            HistoryEvent.instance_id.in_([f["instance_id"] for f in files]))))
    app.db.dispose()
    assert status.pop(broken) == "pending"  # kept for a later sweep, nothing lost
    assert set(status.values()) == {"fired"}
    assert sorted(fired) == sorted(f["instance_id"] for f in files if f["instance_id"] != broken)
