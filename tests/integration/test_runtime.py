"""Engine: spec-free state, query rows, optimistic locking, chained history, triggers."""

from __future__ import annotations

import json
import threading

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, text, update

from engine.audit import history
from engine.errors import Conflict
from engine.store.models import File, HistoryEvent, Instance, Note, OpenTask, Timer
from tests.flow import inbox_task


def test_state_is_stored_without_the_spec(service, users):
    f = service.open_file(users["clerk"], "State size", "11011")
    with service.db.reader() as s:
        inst = s.get(Instance, f["instance_id"])
        state = json.loads(inst.state)
        assert "spec" not in state
        assert "subprocess_specs" not in state
        assert inst.version >= 1
        # ...and it still loads, with the cached spec re-attached
        workflow = service.runtime.load(inst)
    assert workflow.spec.name == "file_approval"
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.name for t in ready] == ["noting"]


def test_open_task_and_timer_rows(service, users):
    f = service.open_file(users["clerk"], "Rows", "11011")
    with service.db.reader() as s:
        task = s.scalar(select(OpenTask).where(OpenTask.file_id == f["id"]))
        timer = s.scalar(select(Timer).where(Timer.instance_id == f["instance_id"],
                                             Timer.status == "pending"))
    assert task.post_id == users["clerk"].post_id
    assert task.closed_at is None
    assert timer.task_spec == "noting_sla_timer"
    assert task.due_at == timer.due_at
    service.act(users["clerk"], task.id, {"action": "forward", "to": "so"})
    with service.db.reader() as s:
        timers = {t.task_uuid: t.status for t in s.scalars(
            select(Timer).where(Timer.instance_id == f["instance_id"]))}
    assert sorted(timers.values()) == ["cancelled", "pending"]


def test_completed_instance_drops_live_state(service, users):
    rid = service.diarise(users["clerk"], {"sender": "A", "subject": "B"})["id"]
    task = inbox_task(service, users["clerk"], receipt_id=rid)
    service.act(users["clerk"], task["id"], {"action": "close", "remark": "no action needed"})
    with service.db.reader() as s:
        inst = s.scalar(select(Instance).where(Instance.subject_kind == "receipt",
                                               Instance.subject_id == rid))
    assert inst.status == "completed"
    assert inst.state is None
    assert inst.event_count > 3


def test_stale_version_is_a_conflict_and_writes_nothing(service, users):
    f = service.open_file(users["clerk"], "Stale", "11011")
    task = inbox_task(service, users["clerk"], file_id=f["id"])
    real_complete = service.runtime.complete
    gate = threading.Event()
    held: list = []

    def slow_complete(session, *args, **kwargs):
        # The row's version moves on after this action read it (as a concurrent writer's
        # commit would; on SQLite writers queue, so it is simulated inside the transaction).
        held.append(session.get(Instance, f["instance_id"]))  # keep it in the identity map
        session.execute(update(Instance).where(Instance.id == f["instance_id"])
                        .values(version=Instance.version + 1)
                        .execution_options(synchronize_session=False))
        gate.set()
        return real_complete(session, *args, **kwargs)

    service.runtime.complete = slow_complete
    try:
        with pytest.raises(Conflict):
            service.act(users["clerk"], task["id"], {"action": "forward", "to": "so"})
    finally:
        service.runtime.complete = real_complete
    assert gate.is_set()
    with service.db.reader() as s:
        assert s.scalar(select(OpenTask.closed_at).where(OpenTask.id == task["id"])) is None
        kinds = [e.kind for e in history.events(s, f["instance_id"])]
    assert "task_completed" not in kinds
    assert service.track(users["clerk"], f["id"])["movements"] == []


def test_history_chain_detects_edits(service, users):
    f = service.open_file(users["clerk"], "Chain", "11011")
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "so"})
    with service.db.reader() as s:
        rows = history.events(s, f["instance_id"])
    assert history.verify_chain(rows) is None
    rows[2].data = {**rows[2].data, "post_id": 999}
    assert "event #3" in history.verify_chain(rows)
    with service.db.reader() as s:
        rows = history.events(s, f["instance_id"])
    del rows[1]
    assert "missing or out of order" in history.verify_chain(rows)


def test_sealed_notes_are_immutable_in_the_database(service, users):
    f = service.open_file(users["clerk"], "Seal", "11011")
    service.add_note(users["clerk"], f["id"], "draft paragraph")
    with service.db.write_engine.begin() as conn:  # unsealed: the holder may still correct it
        conn.execute(update(Note).where(Note.file_id == f["id"]).values(text="corrected"))
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "so"})
    with pytest.raises(Exception, match="read-only"), service.db.write_engine.begin() as conn:
        conn.execute(text("UPDATE notes SET text = 'changed later' WHERE file_id = :f"),
                     {"f": f["id"]})
    with pytest.raises(Exception, match="read-only"), service.db.write_engine.begin() as conn:
        conn.execute(text("DELETE FROM notes WHERE file_id = :f"), {"f": f["id"]})
    with service.db.reader() as s:
        assert s.scalar(select(Note.text).where(Note.file_id == f["id"])) == "corrected"


def test_locked_file_cannot_be_unlocked_by_sql(service, users):
    rid = service.diarise(users["clerk"], {"sender": "A", "subject": "Lock"})["id"]
    f = service.open_file(users["clerk"], "Lock", "11011", receipt_id=rid)
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "ds"})
    service.act(users["ds"], inbox_task(service, users["ds"], file_id=f["id"])["id"],
                {"action": "approve"})
    for sql in ("UPDATE files SET locked = false WHERE id = :f",
                "UPDATE files SET subject = 'other' WHERE id = :f",
                "DELETE FROM files WHERE id = :f",
                "DELETE FROM correspondence WHERE file_id = :f",
                "INSERT INTO notes (file_id, para_no, text, author_id, author_post_id, created_at,"
                " sealed) VALUES (:f, 99, 'x', 1, 1, CURRENT_TIMESTAMP, false)"):
        with pytest.raises(Exception, match="locked"), service.db.write_engine.begin() as conn:
            conn.execute(text(sql), {"f": f["id"]})


def test_every_history_event_is_in_the_same_transaction(service, users):
    """A failing handler rolls back the task completion and its history together."""
    f = service.open_file(users["clerk"], "Rollback", "11011")
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "ds"})
    with service.db.reader() as s:
        before = s.scalar(select(Instance.event_count).where(Instance.id == f["instance_id"]))
    original = service.handlers._handlers["lock_file"]

    def broken(ctx):
        raise RuntimeError("disk full")

    service.handlers._handlers["lock_file"] = broken
    try:
        with pytest.raises(RuntimeError):
            service.act(users["ds"], inbox_task(service, users["ds"], file_id=f["id"])["id"],
                        {"action": "approve"})
    finally:
        service.handlers._handlers["lock_file"] = original
    with service.db.reader() as s:
        assert s.scalar(select(Instance.event_count).where(
            Instance.id == f["instance_id"])) == before
        assert s.scalar(select(HistoryEvent.id).where(
            HistoryEvent.instance_id == f["instance_id"], HistoryEvent.seq == before + 1)) is None
    assert service.file(users["clerk"], f["id"])["locked"] is False


def test_notes_are_sealed_by_the_files_marks(service, users):
    """A file keeps its last paragraph and the one sealed up to: a note written with a
    forward is stored sealed, a note added on its own is sealed by the next move, and a
    file with nothing unsealed moves on with its notes as they were."""
    f = service.open_file(users["clerk"], "Marks", "11011")
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "so", "note": "with the forward"})
    service.add_note(users["so"], f["id"], "on its own")

    def notes() -> list[tuple[int, bool]]:
        with service.db.reader() as s:
            return [tuple(r) for r in s.execute(select(Note.para_no, Note.sealed).where(
                Note.file_id == f["id"]).order_by(Note.para_no))]

    def marks() -> tuple[int, int]:
        with service.db.reader() as s:
            row = s.execute(select(File.last_para_no, File.sealed_para_no)
                            .where(File.id == f["id"])).one()
            return row[0], row[1]

    assert notes() == [(1, True), (2, False)]
    assert marks() == (2, 1)
    service.act(users["so"], inbox_task(service, users["so"], file_id=f["id"])["id"],
                {"action": "forward", "to": "us"})
    assert notes() == [(1, True), (2, True)]
    assert marks() == (2, 2)
    service.act(users["us"], inbox_task(service, users["us"], file_id=f["id"])["id"],
                {"action": "forward", "to": "so", "note": "third"})
    assert notes() == [(1, True), (2, True), (3, True)]
    assert marks() == (3, 3)
