"""SLA rule precedence, and due times set per task and post (the calendar arithmetic
itself: tests/unit/test_workcal.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.sla.policy import SlaPolicy, find_limit, load_calendar
from engine.store.models import Department, OpenTask, User
from engine.store.sla_models import Holiday, SlaRule

IST = ZoneInfo("Asia/Kolkata")


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


def test_rule_precedence(service):
    with service.db.transaction() as s:
        gad = Department(code="GAD", name="General Administration")
        fin = Department(code="FIN", name="Finance")
        s.add_all([gad, fin])
        s.flush()
        s.add_all([
            SlaRule(priority="Normal", amount=5, unit="working_days"),
            SlaRule(department_id=gad.id, amount=4, unit="working_days"),
            SlaRule(department_id=gad.id, priority="Immediate", amount=6, unit="working_hours"),
            SlaRule(task_spec="approval", amount=2, unit="working_days"),
            SlaRule(department_id=gad.id, task_spec="approval", priority="Normal", amount=1,
                    unit="working_days"),
        ])
        gad_id, fin_id = gad.id, fin.id
    with service.db.reader() as s:
        def limit(dept, task, priority):
            found = find_limit(s, dept, task, priority)
            return found.amount, found.unit
        assert limit(fin_id, "noting", "Normal") == (5, "working_days")    # any-dept priority
        assert limit(fin_id, "noting", "Priority") == (3, "working_days")  # CSMOP default
        assert limit(fin_id, "noting", "Top Priority") == (4, "working_hours")
        assert limit(gad_id, "noting", "Normal") == (4, "working_days")    # department
        assert limit(gad_id, "noting", "Immediate") == (6, "working_hours")
        assert limit(fin_id, "approval", "Normal") == (2, "working_days")  # task id wins
        assert limit(gad_id, "approval", "Normal") == (1, "working_days")  # most specific
        assert limit(gad_id, "approval", "Priority") == (2, "working_days")


def test_due_time_follows_the_posts_department_task_and_holidays(demo, users):
    clerk = users["clerk"]
    with demo.db.transaction() as s:
        gad = s.scalar(select(Department).where(Department.code == "GAD"))
        s.add(SlaRule(department_id=gad.id, task_spec="noting", amount=2,
                      unit="working_hours"))
        s.add(Holiday(day=date(2026, 11, 23), name="Test holiday"))
    file = demo.open_file(clerk, "Rule-driven due time", "11011")
    with demo.db.reader() as s:
        task = s.scalar(select(OpenTask).where(OpenTask.file_id == file["id"]))
        expected = load_calendar(s).add_working_time(task.received_at, timedelta(hours=2))
        # the policy itself, from a Friday evening: 2 working hours end on Tuesday (Monday
        # is the holiday)
        clerk_post = s.get(User, clerk.id).post_id
        from engine.store.models import Instance
        instance = s.get(Instance, file["instance_id"])
        friday = SlaPolicy(None).due_at(s, instance, "noting", clerk_post,
                                        ist(2026, 11, 20, 19, 0))
        other_task = SlaPolicy(None).due_at(s, instance, "approval", clerk_post,
                                            ist(2026, 11, 20, 19, 0))
    assert task.due_at == expected
    assert friday == ist(2026, 11, 24, 12, 0)
    assert other_task == ist(2026, 12, 2, 18, 0)  # CSMOP 7 working days, holiday skipped
    # the BPMN boundary timer got the same due time
    [row] = [t for t in demo.inbox(clerk) if t.get("file_id") == file["id"]]
    assert row["due_at"] == task.due_at.isoformat()
    from engine.store.models import Timer
    with demo.db.reader() as s:
        timer = s.scalar(select(Timer).where(Timer.instance_id == file["instance_id"]))
    assert timer.due_at == task.due_at
    assert timer.task_spec == "noting_sla_timer"
    assert task.warn_at is not None
    assert task.received_at < task.warn_at < task.due_at


def test_priority_grading_shortens_the_limit(demo, users):
    so = users["so"]
    file = demo.open_file(so, "Top priority", "11011", priority="Top Priority")
    with demo.db.reader() as s:
        task = s.scalar(select(OpenTask).where(OpenTask.file_id == file["id"]))
        expected = load_calendar(s).add_working_time(task.received_at, timedelta(hours=4))
    assert task.due_at == expected


def test_sla_default_replaces_every_limit(settings):
    import handlers
    from engine.app import Sanchika
    from engine.config import Settings

    with pytest.raises(ValueError, match="SANCHIKA_SLA_DEFAULT"):
        Sanchika(Settings(**{**settings.__dict__, "sla_default": "soon"}), handlers.registry)
    policy = SlaPolicy("PT3S")
    start = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)  # a Saturday night
    assert policy.due_at(None, None, "noting", 1, start) == start + timedelta(seconds=3)
