"""Retention (`sanchika prune`): rows nothing reads any more go, and every report, list
and `sanchika verify` reads the same before and after, with the clock moved past the
retention periods."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select, update

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.notify import outbox
from engine.read import inbox as lists
from engine.store.access_models import AuditEntry
from engine.store.models import OpenTask, OutboxMessage, Timer, User, utcnow
from tests import cli
from tests.flow import inbox_task

DAY = 86400.0


@pytest.fixture
def retained(demo):
    """The demo with short retention for messages and timers (a day) and the shortest
    allowed one for closed tasks."""
    app = Sanchika(dataclasses.replace(demo.settings, retention_outbox_days=1,
                                       retention_timer_days=1, retention_task_days=744),
                   handlers.registry)
    yield app
    app.db.dispose()


def some_history(app, users):
    """A forwarded and then closed file, a late action, and an in-app notification or
    two: closed tasks, delivered messages and cancelled timers to prune."""
    f = app.open_file(users["clerk"], "Retention", "11011")
    app.act(users["clerk"], inbox_task(app, users["clerk"], file_id=f["id"])["id"],
            {"action": "forward", "to": "so", "note": "Please see."})
    # 60 notices to the SO by e-mail and in the app; the e-mails delivered (as the
    # delivery worker marks them)
    with app.db.transaction() as s:
        so = s.get(User, users["so"].id)
        so.email = "so@example.org"
        for n in range(60):
            outbox.notify(s, f"retention-test:{n}", [so], f"Notice {n}", "Body")
    with app.db.transaction() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.channel == "email")
                  .values(status="sent", sent_at=utcnow()))
    return f


def everything_read(app, users):
    """What the reports, lists and notifications say (their own time stamps left out)."""
    out = {}
    for name in ("admin", "ds", "so", "clerk", "auditor"):
        user = users.get(name)
        if user is None:
            continue
        if user.role in ("admin", "auditor", "officer"):
            try:
                out[f"pendency:{name}"] = _without_at(app.pendency(user))
            except Exception as exc:
                out[f"pendency:{name}"] = type(exc).__name__
        for view in lists.VIEWS:
            for tab in lists.TABS:
                try:
                    out[f"{view}:{tab}:{name}"] = app.desk_list(
                        user, lists.Query(tab=tab, view=view))
                except Exception as exc:
                    out[f"{view}:{tab}:{name}"] = type(exc).__name__
        out[f"notifications:{name}"] = app.notification_list(user, "en")
        for months in (1, 24):
            for report in ("time_at_desk", "adoption"):
                try:
                    out[f"{report}:{months}:{name}"] = getattr(app, report)(user, months=months)
                except Exception as exc:
                    out[f"{report}:{months}:{name}"] = type(exc).__name__
    return out


def _without_at(report):
    return {k: v for k, v in report.items() if k != "at"}


def counts(app):
    with app.db.reader() as s:
        return {
            "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)),
            "closed_tasks": s.scalar(select(func.count()).select_from(OpenTask)
                                     .where(OpenTask.closed_at.is_not(None))),
            "timers": s.scalar(select(func.count()).select_from(Timer)
                               .where(Timer.status != "pending")),
        }


def test_prune_keeps_what_reports_and_verify_read(retained, users, clock):
    app = retained
    some_history(app, users)
    assert app.verify_report().intact
    clock.advance(800 * DAY)  # past every retention period, closed tasks' too
    before = everything_read(app, users)
    verified_before = app.verify_report(full=True)
    assert verified_before.intact, verified_before.problems
    had = counts(app)

    dry = app.prune(dry_run=True)["would_remove"]
    assert counts(app) == had  # a dry run changes nothing
    removed = app.prune()["removed"]
    assert removed == dry
    assert removed["tasks"] > 0
    assert removed["outbox"] + removed["notifications"] > 0
    assert removed["timers"] > 0
    after_counts = counts(app)
    assert after_counts["closed_tasks"] < had["closed_tasks"]
    assert after_counts["outbox"] < had["outbox"]

    assert everything_read(app, users) == before
    verified = app.verify_report(full=True)
    assert verified.intact, verified.problems
    assert (verified.instances, verified.events, verified.locked_files,
            verified.signatures) == (verified_before.instances, verified_before.events,
                                     verified_before.locked_files, verified_before.signatures)

    # idempotent: nothing is left to remove, and the removal is on record once
    assert set(app.prune()["removed"].values()) == {0}
    with app.db.reader() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.kind == "data_pruned")))
    assert len(entries) == 1
    assert entries[0].data["removed"] == removed


def test_prune_keeps_closing_tasks_late_actions_and_pending_rows(retained, users, clock):
    app = retained
    some_history(app, users)
    clock.advance(800 * DAY)
    with app.db.reader() as s:
        closing = s.scalar(select(func.count()).select_from(OpenTask)
                           .where(OpenTask.action == "close"))
        late = s.scalar(select(func.count()).select_from(OpenTask).where(
            OpenTask.closed_at > OpenTask.due_at))
        open_ = s.scalar(select(func.count()).select_from(OpenTask)
                         .where(OpenTask.closed_at.is_(None)))
        pending = s.scalar(select(func.count()).select_from(Timer)
                           .where(Timer.status == "pending"))
        unsent = s.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status != "sent"))
        notes = _app_messages(s)
    app.prune()
    with app.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(OpenTask)
                        .where(OpenTask.action == "close")) == closing
        assert s.scalar(select(func.count()).select_from(OpenTask).where(
            OpenTask.closed_at > OpenTask.due_at)) == late
        assert s.scalar(select(func.count()).select_from(OpenTask)
                        .where(OpenTask.closed_at.is_(None))) == open_
        assert s.scalar(select(func.count()).select_from(Timer)
                        .where(Timer.status == "pending")) == pending
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.status != "sent")) == unsent
        # every user keeps their newest 50 notifications (the page shows 50)
        left = _app_messages(s)
        assert any(left[u] < n for u, n in notes.items())
        assert all(left[u] >= min(n, 50) for u, n in notes.items())


def _app_messages(s):
    return {u.id: s.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.user_id == u.id, OutboxMessage.channel == "app"))
        for u in s.scalars(select(User))}


def test_nothing_young_is_pruned(retained, users):
    removed = retained.prune()["removed"]
    with retained.db.reader() as s:
        newest = s.scalar(select(func.max(OpenTask.closed_at)))
    assert newest is None or newest > utcnow().replace(year=utcnow().year - 2)
    assert removed["tasks"] == 0  # the demo's closed tasks are younger than 744 days


def test_retention_settings_are_checked(tmp_path):
    env = {"SANCHIKA_DATA_DIR": str(tmp_path), "SANCHIKA_RETENTION_TASK_DAYS": "30"}
    with pytest.raises(ValueError, match="RETENTION_TASK_DAYS"):
        Settings.from_env(env)
    settings = Settings.from_env({**env, "SANCHIKA_RETENTION_TASK_DAYS": "0"})
    assert settings.retention_task_days == 0
    assert Settings.from_env({"SANCHIKA_DATA_DIR": str(tmp_path)}).retention_outbox_days == 90


def test_cli_prune(settings, demo):
    run = cli.run(settings, "prune", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("prune: would remove ")
    assert "closed tasks" in run.stdout
    run = cli.run(settings, "prune")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("prune: removed ")


def test_the_daily_job_prunes_and_stops_when_asked(retained, users, clock):
    from apscheduler.schedulers.background import BackgroundScheduler

    from engine.ops import retention_schedule

    some_history(retained, users)
    clock.advance(800 * DAY)
    jobs = BackgroundScheduler()
    stopping = [True]
    retention_schedule.install(jobs, retained, lambda: stopping[0])
    assert jobs.get_job(retention_schedule.JOB) is not None
    had = counts(retained)
    retention_schedule.run(retained.settings.database_url)  # asked to stop: nothing done
    assert counts(retained) == had
    stopping[0] = False
    retention_schedule.run(retained.settings.database_url)
    assert counts(retained)["closed_tasks"] < had["closed_tasks"]


def test_two_pruners_at_once_remove_each_row_once(retained, users, clock):
    """Two processes (here: two services with their own connections) prune together:
    between them every row goes exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    some_history(retained, users)
    clock.advance(800 * DAY)
    expected = retained.prune(dry_run=True)["would_remove"]
    other = Sanchika(retained.settings, handlers.registry)
    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda app: app.prune()["removed"], (retained, other)))
    finally:
        other.db.dispose()
    assert {k: results[0][k] + results[1][k] for k in expected} == expected
    assert set(retained.prune(dry_run=True)["would_remove"].values()) == {0}
