"""Incremental `sanchika verify`: after an intact run (its verification mark) only what
changed is re-checked in full; unchanged instances are confirmed by their checkpointed
heads, so tampering with either kind is still caught. `--full` re-checks everything, and
`--workers N` gives the same answer in parallel."""

from __future__ import annotations

from sqlalchemy import func, select, text

from engine.audit import checkpoints, history
from engine.store.audit_models import Checkpoint, VerifyMark
from engine.store.models import Instance
from tests import cli
from tests.flow import inbox_task
from tests.integration.test_audit_tamper import approved_file, rewrite_chain, running_file
from tests.tamper import tamper

SETTLE = 600  # seconds: the mark covers events at least 5 minutes old


def settled(service, clock):
    """A checkpoint, then an intact run whose mark covers every event so far."""
    service.checkpoint()
    clock.advance(SETTLE)
    report = service.verify_report(full=False)
    assert report.intact, report.problems
    return report


def instances(service):
    with service.db.reader() as s:
        return s.scalar(select(func.count()).select_from(Instance))


def test_first_run_is_full_then_only_changes_are_rechecked(service, users, clock):
    a = running_file(service, users, "A")
    running_file(service, users, "B")
    first = service.verify_report(full=False)
    assert first.mode == "full"
    assert first.intact
    assert first.instances == instances(service)
    settled(service, clock)
    quiet = service.verify_report(full=False)
    assert quiet.mode == "incremental"
    assert quiet.intact
    assert quiet.instances == 0
    assert quiet.unchanged == instances(service)
    assert "incremental since checkpoint #1" in quiet.summary()

    service.add_note(users["so"], a["id"], "A new note.")
    moved = service.verify_report(full=False)
    assert moved.mode == "incremental"
    assert moved.intact
    assert moved.instances == 1
    assert moved.unchanged == instances(service) - 1


def test_tampered_changed_instance_is_caught(service, users, clock):
    a = running_file(service, users, "A")
    settled(service, clock)
    service.add_note(users["so"], a["id"], "A new note.")
    tamper(service, "UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i "
           "AND seq = (SELECT MAX(seq) FROM history_events WHERE instance_id = :i)",
           i=a["instance_id"])
    report = service.verify_report(full=False)
    assert report.mode == "incremental"
    assert any(a["file_no"] in p and "altered" in p for p in report.problems), report.problems


def test_tampered_unchanged_instance_is_caught_by_its_checkpointed_head(service, users, clock):
    a = running_file(service, users, "A")
    b = running_file(service, users, "B")
    settled(service, clock)
    # B: its newest events removed and its row wound back (a shorter, valid chain)
    with service.db.reader() as s:
        keep = history.events(s, b["instance_id"])[-3]
    tamper(service, "DELETE FROM history_events WHERE instance_id = :i AND seq > :n",
           i=b["instance_id"], n=keep.seq)
    tamper(service, "UPDATE instances SET event_count = :n, last_event_hash = :h WHERE id = :i",
           tables=(), n=keep.seq, h=keep.hash, i=b["instance_id"])
    # A: rewritten consistently, every hash recomputed
    rewrite_chain(service, a["instance_id"],
                  lambda kind, data: {**data, "remark": "never said"}
                  if kind == "task_completed" else data)
    report = service.verify_report(full=False)
    assert report.mode == "incremental"
    assert any(f"instance {b['instance_id']}" in p and "checkpoint #1" in p and "deleted" in p
               for p in report.problems), report.problems
    assert any(a["file_no"] in p and "not the one checkpoint #1 recorded" in p
               for p in report.problems), report.problems


def test_full_rechecks_what_incremental_trusts(service, users, clock):
    """An older event of an unchanged instance edited with its stored hashes left alone:
    its head still matches the checkpoint, so only --full re-hashes it."""
    a = running_file(service, users, "A")
    settled(service, clock)
    tamper(service, "UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i "
           "AND seq = 1", i=a["instance_id"])
    assert service.verify_report(full=False).intact  # the documented limit
    full = service.verify_report(full=True)
    assert full.mode == "full"
    assert any(a["file_no"] in p and "event #1" in p and "altered" in p
               for p in full.problems), full.problems


def test_a_forged_mark_means_a_full_run(service, users, clock):
    a = running_file(service, users, "A")
    settled(service, clock)
    tamper(service, "UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i "
           "AND seq = 1", i=a["instance_id"])
    # the attacker raises the mark's event id to hide more: the MAC no longer matches
    with service.db.write_engine.begin() as conn:
        conn.execute(text("UPDATE verify_marks SET event_id = event_id + 1000"))
    report = service.verify_report(full=False)
    assert report.mode == "full"
    assert any("verification mark" in p and "MAC" in p for p in report.problems)
    assert any(a["file_no"] in p and "altered" in p for p in report.problems)


def test_workers_give_the_same_answer(service, users, clock):
    files = [running_file(service, users, f"F{n}") for n in range(3)]
    tamper(service, "UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i "
           "AND seq = 2", i=files[1]["instance_id"])
    one = service.verify_report(full=True, workers=1)
    two = service.verify_report(full=True, workers=2)
    assert one.problems
    assert sorted(one.problems) == sorted(two.problems)
    assert (one.instances, one.events, one.reexecuted) == (two.instances, two.events,
                                                           two.reexecuted)


def test_only_intact_runs_leave_a_mark(service, users, clock):
    a = running_file(service, users, "A")
    service.verify_report(full=True)
    tamper(service, "UPDATE history_events SET actor = 'mallory' WHERE instance_id = :i "
           "AND seq = 1", i=a["instance_id"])
    service.verify_report(full=True)
    with service.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(VerifyMark)) == 1


def test_cli_full_and_workers(settings, service, users):
    running_file(service, users, "A")
    for args, mode in ((["verify"], "(full)"), (["verify", "--full", "--workers", "2"],
                                                  "(full)"), (["verify", "--incremental"],
                                                              "incremental"),
                       (["verify"], "(full)")):
        run = cli.run(settings, *args)
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.startswith("verified: ")
        assert run.stdout.strip().endswith(": intact")
        assert mode in run.stdout
    bad = cli.run(settings, "verify", "--workers", "0")
    assert bad.returncode == 2
    assert "--workers" in bad.stderr


def test_incremental_checks_the_signatures_of_changed_instances_only(service, users, clock):
    a = approved_file(service, users, "A")
    b = approved_file(service, users, "B")
    settled(service, clock)
    assert service.verify_report(full=False).signatures == 0  # nothing changed
    service.add_note(users["so"], running_file(service, users, "C")["id"], "New.")
    tamper(service, "UPDATE approval_signatures SET signature = 'AAAA' WHERE file_id = :f",
           tables=("approval_signatures",), f=b["id"])
    quiet = service.verify_report(full=False)
    assert quiet.signatures == 0  # B's instance did not change: its signature is trusted
    # A's file is closed: its instance moves on, so its signature is read again
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=a["id"])["id"],
                {"action": "close", "record_category": "C"})
    tamper(service, "UPDATE approval_signatures SET signature = 'AAAA' WHERE file_id = :f",
           tables=("approval_signatures",), f=a["id"])
    report = service.verify_report(full=False)
    assert report.mode == "incremental"
    assert report.signatures == 1
    assert any(a["file_no"] in p and "signature does not verify" in p
               for p in report.problems), report.problems
    assert not any(b["file_no"] in p for p in report.problems)
    full = service.verify_report(full=True)
    assert any(b["file_no"] in p and "signature does not verify" in p for p in full.problems)


def test_the_heads_root_is_the_same_however_it_is_hashed(service, users):
    """PostgreSQL hashes a checkpoint's heads itself: the same bytes as heads_root. A head
    that is not a hex digest (tampered) is hashed by Python, escaped as canonical JSON."""
    for n in range(3):
        running_file(service, users, f"R{n}")
    service.checkpoint()
    with service.db.reader() as s:
        cp = s.scalar(select(Checkpoint).where(Checkpoint.seq == 1))
        heads = checkpoints._heads(s, cp.id)
        assert len(heads) >= 3
        assert checkpoints.streamed_root(s, history.GENESIS, cp.id) == (cp.root, len(heads))
        assert checkpoints.heads_root(history.GENESIS, heads) == cp.root
    tamper(service, "UPDATE checkpoint_heads SET head_hash = :h WHERE id = (SELECT MIN(id) "
           "FROM checkpoint_heads)", tables=("checkpoint_heads",), h='ab"],[1,1,"cd')
    with service.db.reader() as s:
        heads = checkpoints._heads(s, cp.id)
        assert checkpoints.streamed_root(s, history.GENESIS, cp.id) == (
            checkpoints.heads_root(history.GENESIS, heads), len(heads))
    report = service.verify_report(full=True)
    assert any("checkpoint #1: its recorded chain heads were altered" in p
               for p in report.problems), report.problems
