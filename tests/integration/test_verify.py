"""Tamper detection: `verify_all` and `sanchika verify` catch what an attacker with plain
(or superuser) SQL access changes behind the engine's back."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import JSON, bindparam, text

from engine.audit import history
from engine.audit.verify import verify_all, verify_database
from engine.domain.files import content_hash, get_file
from tests import cli
from tests.flow import inbox_task
from tests.tamper import tamper, unguarded


def locked_file(service, users, subject="Tamper"):
    """A file with a receipt and a note, approved (and so locked) by the DS."""
    rid = service.diarise(users["clerk"], {"sender": "Collectorate", "subject": subject})["id"]
    f = service.open_file(users["clerk"], subject, "11011", receipt_id=rid)
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "ds", "note": "Submitted for approval."})
    service.act(users["ds"], inbox_task(service, users["ds"], file_id=f["id"])["id"],
                {"action": "approve", "note": "Approved."})
    f = service.file(users["ds"], f["id"])
    assert f["locked"] is True
    return f


def problems(service):
    """Every problem; a locked file's altered content shows twice (its lock event's hash and
    its signed approval), so those tests expect two lines naming the file."""
    with service.db.reader() as s:
        return verify_all(s)


def sql(service, statement, **params):
    """History is append-only (triggers): the attacker switches its guards off first."""
    tamper(service, statement, **params)


@contextmanager
def trigger_off(conn, table, sqlite_trigger, pg_trigger):
    """An attacker with superuser access: the guard trigger is off for the block, then
    restored exactly as it was."""
    if conn.dialect.name == "sqlite":
        create = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                   "AND name = :n"), {"n": sqlite_trigger}).scalar_one()
        conn.execute(text(f"DROP TRIGGER {sqlite_trigger}"))
        yield
        conn.execute(text(create))
    else:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}"))
        yield
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {pg_trigger}"))


def event_count(service, instance_id):
    with service.db.reader() as s:
        return len(history.events(s, instance_id))


def test_intact_database_verifies_clean(service, users):
    f = locked_file(service, users)
    report = verify_database(service.db)
    assert report.problems == []
    assert report.locked_files >= 1
    assert report.instances >= 2
    assert report.events >= event_count(service, f["instance_id"])
    with service.db.reader() as s:
        lock = next(e for e in history.events(s, f["instance_id"])
                    if e.kind == "handler_called" and e.data["handler"] == "lock_file")
        assert lock.data["result"]["content_hash"] == content_hash(s, get_file(s, f["id"]))


def test_edited_event_data(service, users):
    f = locked_file(service, users)
    with service.db.reader() as s:
        event = history.events(s, f["instance_id"])[2]
    changed = {**event.data, "post_id": 999}
    sql(service, text("UPDATE history_events SET data = :d WHERE instance_id = :i AND seq = 3")
        .bindparams(bindparam("d", type_=JSON)), d=changed, i=f["instance_id"])
    found = problems(service)
    assert len(found) == 1
    assert f["file_no"] in found[0]
    assert f"event #3 ({event.kind}) was altered" in found[0]


def test_deleted_middle_event(service, users):
    f = locked_file(service, users)
    sql(service, "DELETE FROM history_events WHERE instance_id = :i AND seq = 2",
        i=f["instance_id"])
    found = problems(service)
    assert len(found) == 1
    assert f["file_no"] in found[0]
    assert "event #2 missing or out of order" in found[0]


def test_deleted_last_event(service, users):
    f = locked_file(service, users)
    last = event_count(service, f["instance_id"])
    sql(service, "DELETE FROM history_events WHERE instance_id = :i AND seq = :s",
        i=f["instance_id"], s=last)
    with service.db.reader() as s:  # what is left is a perfectly good chain...
        assert history.verify_chain(history.events(s, f["instance_id"])) is None
    found = problems(service)  # ...but the instance row remembers the newest event
    assert f["file_no"] in found[0]
    assert f"event #{last} missing" in found[0]
    # the newest event was the signed approval: its signature row now has no record
    assert all(f["file_no"] in p for p in found)
    assert len(found) <= 2


def test_reordered_events(service, users):
    f = locked_file(service, users)
    with service.db.write_engine.begin() as conn, unguarded(conn, "history_events"):
        for old, new in ((2, -1), (3, 2), (-1, 3)):
            conn.execute(text("UPDATE history_events SET seq = :new "
                              "WHERE instance_id = :i AND seq = :old"),
                         {"i": f["instance_id"], "old": old, "new": new})
    found = problems(service)
    assert len(found) == 1
    assert f["file_no"] in found[0]
    assert "event #2" in found[0]
    assert "altered" in found[0]


def test_changed_prev_hash(service, users):
    f = locked_file(service, users)
    sql(service, "UPDATE history_events SET prev_hash = :h WHERE instance_id = :i AND seq = 4",
        h="f" * 64, i=f["instance_id"])
    found = problems(service)
    assert len(found) == 1
    assert f["file_no"] in found[0]
    assert "event #4" in found[0]


def test_altered_note_of_a_locked_file(service, users):
    f = locked_file(service, users)
    other = locked_file(service, users, "Untouched")
    with (
        service.db.write_engine.begin() as conn,
        trigger_off(conn, "notes", "notes_locked_update", "notes_guard"),
    ):
        conn.execute(text("UPDATE notes SET text = 'Rejected.' "
                          "WHERE file_id = :f AND text = 'Approved.'"), {"f": f["id"]})
    assert service.file(users["ds"], f["id"])["notes"][-1]["text"] == "Rejected."
    found = problems(service)
    assert len(found) == 2
    assert f"file {f['file_no']}:" in found[0]
    assert "differ" in found[0]
    assert other["file_no"] not in found[0]
    with pytest.raises(Exception, match="read-only"):  # ...and the trigger is back
        sql(service, "UPDATE notes SET text = 'again' WHERE file_id = :f", f=f["id"])


def test_changed_correspondence_of_a_locked_file(service, users):
    f = locked_file(service, users)
    swap = service.diarise(users["clerk"], {"sender": "Someone else", "subject": "Other"})["id"]
    with (
        service.db.write_engine.begin() as conn,
        trigger_off(conn, "correspondence", "corr_locked_update", "correspondence_guard"),
    ):
        conn.execute(text("UPDATE correspondence SET receipt_id = :r WHERE file_id = :f"),
                     {"r": swap, "f": f["id"]})
    found = problems(service)
    assert len(found) == 2
    assert all(f"file {f['file_no']}:" in p for p in found)


def test_changed_receipt_of_a_locked_file(service, users):
    """With its guard off, a receipt in a locked file is changed: the hash covers it."""
    f = locked_file(service, users)
    tamper(service, "UPDATE receipts SET sender = 'Forged' WHERE id = :r", tables=("receipts",),
           r=f["correspondence"][0]["id"])
    found = problems(service)
    assert len(found) == 2
    assert all(f"file {f['file_no']}:" in p for p in found)


def test_unlocked_file_is_caught(service, users):
    f = locked_file(service, users)
    with (
        service.db.write_engine.begin() as conn,
        trigger_off(conn, "files", "files_locked_update", "files_guard"),
    ):
        conn.execute(text("UPDATE files SET locked = false WHERE id = :f"), {"f": f["id"]})
    found = problems(service)
    assert len(found) == 1
    assert f"file {f['file_no']}:" in found[0]
    assert "no longer locked" in found[0]


def run_cli(settings, *args):
    return cli.run(settings, *args)


def test_cli_verify(settings, service, users):
    f = locked_file(service, users)
    run = run_cli(settings, "verify")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("verified: ")
    assert run.stdout.strip().endswith(": intact")
    assert "locked files" in run.stdout
    with (
        service.db.write_engine.begin() as conn,
        trigger_off(conn, "notes", "notes_locked_update", "notes_guard"),
    ):
        conn.execute(text("UPDATE notes SET text = 'Rejected.' WHERE file_id = :f"),
                     {"f": f["id"]})
    run = run_cli(settings, "verify")
    assert run.returncode == 1, run.stdout + run.stderr
    assert f["file_no"] in run.stdout
    assert "intact" not in run.stdout
