"""Versions under control: a broken file_approval is refused at deploy, rollback makes new
files use an older version, a suspended version starts nothing (its timer start events
wait), and running files migrate to another version — dry run first — with
`sanchika verify` intact afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine.app import PROCESS_DIR
from engine.audit.verify import verify_database
from engine.errors import ActionNotAllowed, Forbidden, InvalidBpmn
from engine.store.access_models import AuditEntry
from engine.store.models import File, HistoryEvent, Instance, Timer
from tests import cli
from tests.flow import inbox_task
from tests.tamper import tamper

APPROVAL = (PROCESS_DIR / "file_approval.bpmn").read_bytes()
# Version 2: the same steps, the noting step relabelled (a harmless fix).
RELABELLED = APPROVAL.replace(b'name="Noting"', b'name="Noting and drafting"')
SCHEDULED = Path(__file__).resolve().parents[1] / "data" / "scheduled_check.bpmn"


def _without_approval(xml: bytes) -> bytes:
    """What deleting the Approval task in the modeler leaves: its flows and its SLA
    timer go with it."""
    from lxml import etree

    root = etree.fromstring(xml)
    doomed = {"approval", "approval_sla_timer"}
    for el in list(root.iter()):
        if el.get("id") in doomed or el.get("sourceRef") in doomed or \
                el.get("targetRef") in doomed or el.get("attachedToRef") in doomed:
            doomed.add(el.get("id") or "")
            el.getparent().remove(el)
    for el in list(root.iter()):
        flow_ref = str(el.tag).endswith(("incoming", "outgoing")) and el.text in doomed
        if flow_ref or el.get("bpmnElement") in doomed:
            el.getparent().remove(el)
    return etree.tostring(root)


def _file(service, users, subject: str) -> dict:
    return service.open_file(users["clerk"], subject, "11011")


def _version_of(service, file_id: int) -> int:
    with service.db.reader() as s:
        f = s.get(File, file_id)
        return s.get(Instance, f.instance_id).definition.version


def _verify(service) -> list[str]:
    return verify_database(service.db, definitions=service.definitions).problems


def test_a_file_approval_without_its_approval_step_is_refused(demo, users):
    broken = _without_approval(APPROVAL)
    assert demo.validate_bpmn(users["designer"], broken)[0]["message"].startswith(
        "the application relies on step 'approval'")
    with pytest.raises(InvalidBpmn) as caught:
        demo.deploy(broken, users["designer"])
    assert "step 'approval'" in caught.value.message
    assert demo.definitions_overview(users["designer"])[0]["version"] == 1


def test_a_loose_task_is_refused_naming_it(demo, users):
    loose = APPROVAL.replace(b'<bpmn:endEvent id="closed"',
                             b'<bpmn:userTask id="stray" name="Stray" />\n'
                             b'    <bpmn:endEvent id="closed"')
    problems = demo.validate_bpmn(users["designer"], loose)
    assert [p["element_id"] for p in problems] == ["stray"]
    assert "cannot be reached" in problems[0]["message"]
    assert problems[0]["line"]


def test_rollback_makes_new_files_use_the_older_version(demo, users):
    designer = users["designer"]
    v2, created = demo.deploy(RELABELLED, designer)
    assert created
    assert v2.version == 2
    assert _version_of(demo, _file(demo, users, "On v2")["id"]) == 2
    with pytest.raises(Forbidden):
        demo.make_current(users["clerk"], "file_approval", 1)
    row = demo.make_current(designer, "file_approval", 1)
    assert row == {"process_id": "file_approval", "version": 1, "current": True,
                   "suspended": False}
    assert _version_of(demo, _file(demo, users, "Back on v1")["id"]) == 1
    rows = {r["version"]: r for r in demo.definitions_overview(designer)
            if r["process_id"] == "file_approval"}
    assert (rows[1]["current"], rows[2]["current"]) == (True, False)
    with demo.db.reader() as s:
        assert s.scalar(select(AuditEntry.kind).order_by(AuditEntry.id.desc()).limit(1)) \
            == "process_version_current"
    # Deploying the same document again changes nothing: version 1 stays current.
    _, again = demo.deploy(RELABELLED, designer)
    assert not again
    assert _version_of(demo, _file(demo, users, "Still v1")["id"]) == 1


def test_a_suspended_version_starts_nothing_until_resumed(demo, users):
    designer = users["designer"]
    demo.suspend_version(designer, "file_approval", 1)
    with pytest.raises(ActionNotAllowed, match="suspended"):
        _file(demo, users, "Refused")
    demo.suspend_version(designer, "file_approval", 1, suspended=False)
    assert _version_of(demo, _file(demo, users, "Accepted")["id"]) == 1


def test_a_suspended_version_s_timer_start_event_waits(demo, users, clock):
    designer = users["designer"]
    demo.deploy(SCHEDULED.read_bytes(), designer)
    with demo.db.reader() as s:
        timer = s.scalar(select(Timer).join(Instance, Instance.id == Timer.instance_id)
                         .where(Instance.process_id == "scheduled_check"))
    demo.suspend_version(designer, "scheduled_check", 1)
    clock.advance_past(timer.due_at)
    assert demo.fire_due_timers() == 0
    with demo.db.reader() as s:
        assert s.get(Timer, timer.id).status == "pending"
    demo.suspend_version(designer, "scheduled_check", 1, suspended=False)
    assert demo.fire_due_timers() == 1


def test_dry_run_then_migrate_and_verify_stays_intact(demo, users):
    designer, clerk, ds = users["designer"], users["clerk"], users["ds"]
    noting = _file(demo, users, "Waiting at noting")
    approving = _file(demo, users, "Waiting at approval")
    demo.act(clerk, inbox_task(demo, clerk, file_id=approving["id"])["id"],
             {"action": "forward", "to": "ds", "note": "For approval."})
    demo.deploy(RELABELLED, designer)

    plan = demo.migrate_instances(designer, "file_approval", 1, 2, dry_run=True)
    assert plan["dry_run"]
    by_subject = {r["subject"]: r for r in plan["instances"]}
    assert {r["tokens"][0]["from"] for r in plan["instances"]} >= {"noting", "approval"}
    assert by_subject[noting["file_no"]]["tokens"] == [
        {"from": "noting", "to": "noting", "kind": "user", "problem": None}]
    assert all(r["can_migrate"] and not r["migrated"] for r in plan["instances"])
    assert _version_of(demo, noting["id"]) == 1  # a dry run moves nothing

    done = demo.migrate_instances(designer, "file_approval", 1, 2, dry_run=False)
    assert done["migrated"] == len(plan["instances"])
    assert _version_of(demo, noting["id"]) == 2
    task = inbox_task(demo, ds, file_id=approving["id"])
    assert task["name"] == "Approval"
    assert _verify(demo) == []
    with demo.db.reader() as s:
        kinds = list(s.scalars(select(HistoryEvent.kind).where(
            HistoryEvent.instance_id == select(Instance.id).where(
                Instance.subject_id == approving["id"],
                Instance.subject_kind == "file").scalar_subquery())))
    assert "instance_migrated" in kinds

    # The moved files go on, on version 2, and verify stays intact after more steps.
    demo.act(ds, task["id"], {"action": "approve", "note": "Approved."})
    assert demo.file(ds, approving["id"])["locked"] is True
    demo.act(clerk, inbox_task(demo, clerk, file_id=noting["id"])["id"],
             {"action": "forward", "to": "ds", "note": "Now for approval."})
    assert inbox_task(demo, ds, file_id=noting["id"])["name"] == "Approval"
    assert _verify(demo) == []


def test_a_token_that_cannot_be_mapped_keeps_the_instance_where_it_is(demo, users):
    designer, clerk = users["designer"], users["clerk"]
    f = _file(demo, users, "Noting renamed")
    renamed = APPROVAL.replace(b'"noting"', b'"noting_v2"').replace(
        b'>noting<', b'>noting_v2<').replace(b'attachedToRef="noting"',
                                             b'attachedToRef="noting_v2"')
    contract_free = renamed  # the contract needs 'noting': refused, as it should be
    with pytest.raises(InvalidBpmn, match="step 'noting'"):
        demo.deploy(contract_free, designer)
    demo.deploy(RELABELLED, designer)
    plan = demo.migrate_instances(designer, "file_approval", 1, 2,
                                  mapping={"noting": "nowhere"}, dry_run=False)
    [row] = [r for r in plan["instances"] if r["subject"] == f["file_no"]]
    assert row["tokens"][0]["problem"] == "'noting' has no step 'nowhere' in the target version"
    assert not row["migrated"]
    assert _version_of(demo, f["id"]) == 1
    # one instance by itself, with the identity mapping, moves
    with demo.db.reader() as s:
        instance_id = s.get(File, f["id"]).instance_id
    one = demo.migrate_instance(designer, instance_id, 2, mapping={"noting": "noting"},
                                dry_run=False)
    assert one["migrated"]
    # Replay follows the open task through the move.
    replayed = demo.replay_file(users["auditor"], f["id"])
    assert [t["step"] for t in replayed["open_tasks"]] == ["noting"]
    demo.act(clerk, inbox_task(demo, clerk, file_id=f["id"])["id"],
             {"action": "forward", "to": "ds", "note": "Onwards."})
    assert _verify(demo) == []


def test_a_tampered_migration_event_is_caught(demo, users):
    designer = users["designer"]
    _file(demo, users, "Tamper target")
    demo.deploy(RELABELLED, designer)
    demo.migrate_instances(designer, "file_approval", 1, 2, dry_run=False)
    tamper(demo, update(HistoryEvent).where(HistoryEvent.kind == "instance_migrated")
           .values(data={"from_definition_id": 999}))
    found = _verify(demo)
    assert any("re-executing" in p for p in found), found


def test_the_api_rolls_back_suspends_and_migrates_as_documented(demo, users, api):
    from tests.integration.test_api_responses import check

    spec = api.get("/openapi.json").json()

    def call(method: str, url: str, user: str, status: int, **kw):  # type: ignore[no-untyped-def]
        r = api.call(method, url, user, **kw)
        assert r.status_code == status, r.text
        check(spec, r, method, url)
        return r.json()

    f = _file(demo, users, "Over the API")
    call("POST", "/process-definitions", "designer", 201, data=RELABELLED,
         headers={"Content-Type": "application/xml"})
    call("POST", "/process-definitions/file_approval/versions/1/current", "clerk", 403)
    row = call("POST", "/process-definitions/file_approval/versions/1/current", "designer", 200)
    assert row["current"] is True
    listed = call("GET", "/process-definitions", "designer", 200)
    assert [d["version"] for d in listed if d["process_id"] == "file_approval"
            and d["current"]] == [1]
    call("POST", "/process-definitions/file_approval/versions/9/suspension", "admin", 404,
         json={"suspended": True})
    assert call("POST", "/process-definitions/file_approval/versions/2/suspension", "admin",
                200, json={"suspended": True})["suspended"] is True
    call("POST", "/process-definitions/file_approval/versions/2/suspension", "admin", 200,
         json={"suspended": False})
    plan = call("POST", "/process-definitions/file_approval/migrations", "designer", 200,
                json={"from_version": 1, "to_version": 2})
    assert plan["dry_run"] is True
    assert f["file_no"] in [r["subject"] for r in plan["instances"]]
    call("POST", "/process-definitions/file_approval/migrations", "designer", 422,
         json={"from_version": 1, "to_version": 2, "mapping": {"noting": ""}})
    done = call("POST", "/process-definitions/file_approval/migrations", "admin", 200,
                json={"from_version": 1, "to_version": 2, "dry_run": False})
    assert done["migrated"] == plan["movable"] > 0
    assert _version_of(demo, f["id"]) == 2
    assert _verify(demo) == []


def test_the_cli_lists_rolls_back_and_migrates(demo, users, settings):
    env = cli.env_of(settings, SANCHIKA_SECRET_KEY="test-secret")

    def sanchika(*argv: str) -> cli.CliResult:
        return cli.run(env, "versions", *argv)

    f = _file(demo, users, "From the command line")
    demo.deploy(RELABELLED, users["designer"])
    run = sanchika("migrate", "file_approval", "1", "2", "--map", "noting=nowhere")
    assert run.returncode == 1
    assert f"{f['file_no']}: stays: noting -> ?" in run.stdout
    assert "cannot be mapped: 'noting' has no step 'nowhere'" in run.stdout
    run = sanchika("migrate", "file_approval", "1", "2")
    assert run.returncode == 0, run.stderr
    assert f"{f['file_no']}: would move: noting -> noting" in run.stdout
    assert _version_of(demo, f["id"]) == 1
    run = sanchika("migrate", "file_approval", "1", "2", "--apply")
    assert run.returncode == 0, run.stderr
    assert _version_of(demo, f["id"]) == 2
    assert sanchika("current", "file_approval", "1").returncode == 0
    listed = sanchika("list").stdout
    assert any(line.startswith("file_approval") and "v1" in line and "current" in line
               for line in listed.splitlines()), listed
    verify = cli.run(env, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout
