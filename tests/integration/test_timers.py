"""SLA timers come due: the escalation path runs once, and the item shows as overdue."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.errors import ActionNotAllowed
from engine.store.models import HistoryEvent, OutboxMessage, Timer, User
from tests.flow import inbox_task, pass_due_time


def test_due_timer_escalates_once(quick, clock):
    with quick.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    f = quick.open_file(clerk, "Timer", "11011")
    task = inbox_task(quick, clerk, file_id=f["id"])
    assert datetime.fromisoformat(task["due_at"]) > datetime.fromisoformat(task["received_at"])
    assert task["overdue"] is False  # the clock stands still: not overdue yet
    assert quick.fire_due_timers() == 0  # nothing fires early
    pass_due_time(clock, quick, clerk, file_id=f["id"])
    quick.fire_due_timers()
    quick.fire_due_timers()  # a second sweep finds nothing new
    with quick.db.reader() as s:
        statuses = [t.status for t in s.scalars(
            select(Timer).where(Timer.instance_id == f["instance_id"]))]
        fired = list(s.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == f["instance_id"], HistoryEvent.kind == "timer_fired")))
        escalations = list(s.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == f["instance_id"],
            HistoryEvent.task_spec == "escalate_noting")))
        breach = list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.subject.like("Time limit passed: file%"),
            OutboxMessage.channel == "app")))
    assert statuses == ["fired"]
    assert len(fired) == 1
    assert fired[0].data["lag_ms"] >= 0
    assert len(escalations) == 1
    assert {m.recipient for m in breach} >= {"clerk", "so"}  # holder and superior post
    task = inbox_task(quick, clerk, file_id=f["id"])
    assert task["overdue"] is True  # the non-interrupting timer left the task with the clerk
    with pytest.raises(ActionNotAllowed, match="reason"):
        quick.act(clerk, task["id"], {"action": "forward", "to": "so"})
    quick.act(clerk, task["id"], {"action": "forward", "to": "so",
                                  "reason": "awaited treasury reply"})
    events = quick.file_history(clerk, f["id"])
    reasons = [e["data"].get("reason") for e in events if e["kind"] == "task_completed"]
    assert reasons == ["awaited treasury reply"]


def test_scheduler_fires_a_due_timer(quick):
    from engine.ops import scheduler

    with quick.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    jobs = scheduler.start(quick)
    try:
        f = quick.open_file(clerk, "Scheduled", "11011")
        deadline = time.monotonic() + 60  # a deadline, not a timing claim
        fired: list = []
        while time.monotonic() < deadline and not fired:
            time.sleep(0.1)
            with quick.db.reader() as s:
                fired = list(s.scalars(select(HistoryEvent).where(
                    HistoryEvent.instance_id == f["instance_id"],
                    HistoryEvent.kind == "timer_fired")))
    finally:
        jobs.shutdown(wait=True)
    assert len(fired) == 1
    assert fired[0].data["lag_ms"] >= 0  # never early
