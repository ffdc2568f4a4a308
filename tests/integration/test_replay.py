"""Replay of files and receipts as of any event, and the deterministic re-execution
check (match, and mismatch reported like tampering)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.audit import history
from engine.audit.replay import summary
from engine.bpm.reexecute import Reexecutor, snapshot
from engine.errors import Forbidden, InvalidInput
from engine.store.models import Instance, ProcessDefinition, User
from tests import cli
from tests.flow import inbox_task, pass_due_time
from tests.tamper import tamper


def seq_of(service, instance_id, kind, nth=0, **match):
    with service.db.reader() as s:
        found = [e for e in history.events(s, instance_id) if e.kind == kind
                 and all(e.data.get(k) == v for k, v in match.items())]
    return found[nth].seq


def test_replay_a_file_at_several_points(service, users):
    clerk, so, ds, auditor = (users[u] for u in ("clerk", "so", "ds", "auditor"))
    rid = service.diarise(clerk, {"sender": "Treasury", "subject": "Pay fixation"})["id"]
    f = service.open_file(clerk, "Pay fixation", "11011", receipt_id=rid)
    service.add_note(clerk, f["id"], "Proposal is as per rules.")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "forward", "to": "so", "remark": "for checking"})
    service.act(so, inbox_task(service, so, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds", "note": "Checked."})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"], {"action": "approve"})
    i = f["instance_id"]

    # 1. just after the note: with the clerk, one note, at noting
    at_note = service.replay_file(auditor, f["id"], seq_of(service, i, "note_added"))
    assert at_note["holder"]["code"] == "GAD-EST-DA"
    assert [n["text"] for n in at_note["notes"]] == ["Proposal is as per rules."]
    assert at_note["notes"][0]["sealed"] is False
    diary_no = f["correspondence"][0]["diary_no"]
    assert [c["diary_no"] for c in at_note["correspondence"]] == [diary_no]
    assert "noting" in at_note["active_steps"]
    assert "noting_sla_timer" in at_note["active_steps"]
    assert at_note["movements"] == []
    assert at_note["locked"] is False

    # 2. once the SO's task is ready: with the SO, one movement, the note sealed
    with_so = service.replay_file(auditor, f["id"], seq_of(service, i, "task_ready", 1))
    assert with_so["holder"]["code"] == "GAD-EST-SO"
    assert [(m["from"]["code"], m["to"]["code"], m["action"], m["remark"])
            for m in with_so["movements"]] == [("GAD-EST-DA", "GAD-EST-SO", "forward",
                                                "for checking")]
    assert with_so["notes"][0]["sealed"] is True
    assert [t["post"]["code"] for t in with_so["open_tasks"]] == ["GAD-EST-SO"]

    # 3. at approval: with the DS at the approval step, the SO's note there too
    # (the step's last event: its timers are synced after its tasks)
    at_approval = service.replay_file(auditor, f["id"],
                                      seq_of(service, i, "task_completed", 2) - 1)
    assert at_approval["holder"]["code"] == "GAD-EST-DS"
    assert at_approval["active_steps"] == ["approval", "approval_sla_timer"]
    assert [n["text"] for n in at_approval["notes"]] == ["Proposal is as per rules.", "Checked."]
    assert at_approval["status"] == "open"
    assert at_approval["signatures"] == []

    # 4. the newest: approved, locked, signed, back with the creator for closure
    now = service.replay_file(auditor, f["id"])
    assert now["latest"] is True
    assert now["at"]["kind"] == "approval_signed"
    assert now["status"] == "approved"
    assert now["locked"] is True
    assert now["active_steps"] == ["closure"]
    assert now["holder"]["code"] == "GAD-EST-DA"
    assert [s["signer"] for s in now["signatures"]] == ["ds"]
    # ... and it agrees with the live records
    live = service.track(auditor, f["id"])
    assert [(m["from"]["code"], m["to"]["code"], m["action"]) for m in live["movements"]] == \
        [(m["from"]["code"], m["to"]["code"], m["action"]) for m in now["movements"]]
    assert now["content_hash"] == now["signatures"][0]["content_hash"]
    text = summary(now)
    assert f["file_no"] in text
    assert "signed: approve by ds" in text
    assert "Checked." in text


def test_replay_a_receipt(service, users):
    clerk, auditor = users["clerk"], users["auditor"]
    rid = service.diarise(clerk, {"sender": "Collector", "subject": "Flood relief"})["id"]
    task = inbox_task(service, clerk, receipt_id=rid)
    service.act(clerk, task["id"], {"action": "forward", "to": "so"})
    so_task = inbox_task(service, users["so"], receipt_id=rid)
    service.act(users["so"], so_task["id"], {"action": "close", "remark": "Noted; no action."})
    receipt = service.receipt(auditor, rid)
    first = service.replay_receipt(auditor, rid, 1)
    assert first["at"]["kind"] == "instance_started"
    assert first["holder"] is None
    forwarded = service.replay_receipt(auditor, rid, seq_of(service, receipt["instance_id"],
                                                             "task_ready", 1))
    assert forwarded["holder"]["code"] == "GAD-EST-SO"
    assert forwarded["status"] == "open"
    final = service.replay_receipt(auditor, rid)
    assert final["status"] == "closed"
    assert final["completed"] is True
    assert final["remark"] == "Noted; no action."
    assert final["holder"] is None
    assert final["active_steps"] == []


def test_replay_refuses_bad_points_and_strangers(service, users):
    f = service.open_file(users["clerk"], "Bounds", "11011")
    with pytest.raises(InvalidInput, match="at: must be an event number from 1 to"):
        service.replay_file(users["auditor"], f["id"], 0)
    with pytest.raises(InvalidInput, match="at:"):
        service.replay_file(users["auditor"], f["id"], 10_000)
    with service.db.transaction() as s:  # an officer of another department
        from engine.domain import org

        dept = org.ensure_department(s, "REV", "Revenue")
        section = org.ensure_section(s, dept, "LR", "Land records")
        post = org.ensure_post(s, section, "REV-LR-DA", "Dealing Assistant")
        org.ensure_user(s, "stranger", "Stranger", "password-1", post=post)
    with service.db.reader() as s:
        stranger = s.scalar(select(User).where(User.username == "stranger"))
    with pytest.raises(Forbidden):
        service.replay_file(stranger, f["id"])


def reexecution_differences(service, instance_id):
    with service.db.reader() as s:
        instance = s.get(Instance, instance_id)
        definition = s.get(ProcessDefinition, instance.definition_id)
        events = history.events(s, instance_id)
        return Reexecutor(service.definitions).check(definition, events, instance.status,
                                                      instance.state)


def test_reexecution_matches_running_and_finished_instances(service, users):
    clerk, ds = users["clerk"], users["ds"]
    f = service.open_file(clerk, "Re-run", "11011")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"],
                {"action": "return"})
    assert reexecution_differences(service, f["instance_id"]) == []
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"], {"action": "reject"})
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "close", "record_category": "C"})
    with service.db.reader() as s:
        assert s.get(Instance, f["instance_id"]).status == "completed"
    assert reexecution_differences(service, f["instance_id"]) == []
    # re-execution up to a point gives the diagram's steps replay reports there
    with service.db.reader() as s:
        instance = s.get(Instance, f["instance_id"])
        events = history.events(s, f["instance_id"])
        # the end of the step that opened approval (timers sync after tasks)
        upto = seq_of(service, f["instance_id"], "task_completed", 1) - 1
        workflow = Reexecutor(service.definitions).run(instance.definition, events, upto)
    replayed = service.replay_file(users["auditor"], f["id"], upto)
    steps = snapshot(workflow)
    assert [name for name, _ in steps.ready] == ["approval"]
    assert set(replayed["active_steps"]) == {"approval", *steps.timers}


def test_reexecution_mismatch_on_altered_inputs(service, users):
    """The recorded inputs rewritten (and the chain with them): re-execution no longer
    reaches the stored state."""
    clerk = users["clerk"]
    f = service.open_file(clerk, "Inputs", "11011")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "forward", "to": "so"})
    with service.db.reader() as s:
        completed = next(e for e in history.events(s, f["instance_id"])
                         if e.kind == "task_completed")
    from tests.integration.test_audit_tamper import rewrite_chain

    rewrite_chain(service, f["instance_id"], lambda kind, data: (
        {**data, "inputs": {**data["inputs"], "holder_post": users["us"].post_id}}
        if kind == "task_completed" else data))
    diffs = reexecution_differences(service, f["instance_id"])
    assert diffs == ["process data at noting differs"], diffs
    found = service.verify_report().problems
    assert any(f["file_no"] in p and "re-executing" in p for p in found), found
    assert completed.seq > 1


def test_reexecution_replays_timer_firings(quick, clock):
    with quick.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    f = quick.open_file(clerk, "Timer replay", "11011")
    pass_due_time(clock, quick, clerk, file_id=f["id"])
    assert quick.fire_due_timers() >= 1
    assert reexecution_differences(quick, f["instance_id"]) == []
    task = inbox_task(quick, clerk, file_id=f["id"])
    quick.act(clerk, task["id"], {"action": "forward", "to": "so", "reason": "was on leave"})
    assert reexecution_differences(quick, f["instance_id"]) == []
    replayed = quick.replay_file(clerk, f["id"], seq_of(quick, f["instance_id"],
                                                        "timer_fired"))
    assert "noting_sla_timer" not in replayed["active_steps"]
    assert quick.verify_report().problems == []
    # a timer firing removed from the history (chain rewritten) no longer re-runs
    with quick.db.reader() as s:
        fired = next(e for e in history.events(s, f["instance_id"])
                     if e.kind == "timer_fired")
    tamper(quick, "UPDATE history_events SET kind = 'timer_cancelled' WHERE id = :i",
           i=fired.id)
    found = quick.verify_report().problems
    assert any("escalate" in p and "re-executing" in p for p in found), found


def run_cli(settings, *args):
    return cli.run(settings, *args)


def test_cli_replay(settings, service, users):
    f = service.open_file(users["clerk"], "CLI replay", "11011")
    service.add_note(users["clerk"], f["id"], "हिंदी में टिप्पणी")
    run = run_cli(settings, "replay", f["file_no"], "--at", "1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"file {f['file_no']} as of event #1 of ")
    assert "हिंदी" not in run.stdout  # the note came later than event #1
    run = run_cli(settings, "replay", str(f["id"]), "--json")
    assert run.returncode == 0, run.stderr
    view = json.loads(run.stdout)
    assert view["notes"][0]["text"] == "हिंदी में टिप्पणी"
    assert view["latest"] is True
    run = run_cli(settings, "replay", "NO/SUCH/FILE")
    assert run.returncode == 1
    assert "no file" in run.stderr
