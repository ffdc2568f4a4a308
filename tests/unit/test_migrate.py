"""Moving a workflow's tokens to another version (engine/bpm/migrate.py): pure, in memory."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

import handlers
from engine.bpm import migrate, spiff_private
from engine.bpm.codec import dump_state, load_state
from engine.bpm.reader import ReadBpmn, read_bpmn
from engine.bpm.reexecute import snapshot
from engine.bpm.sandbox import make_script_engine

XML = (Path(__file__).resolve().parents[2] / "processes" / "file_approval.bpmn").read_bytes()
ENGINE = make_script_engine()


def _read(xml: bytes) -> ReadBpmn:
    return read_bpmn(xml, handlers.registry.names(), 2 * 1024 * 1024)


V1 = _read(XML)
V2 = _read(XML.replace(b'name="Noting"', b'name="Noting v2"'))
# v3: the noting step has a new id
V3 = _read(XML.replace(b'"noting"', b'"drafting"').replace(b">noting<", b">drafting<")
           .replace(b'attachedToRef="noting"', b'attachedToRef="drafting"'))


def _at_noting() -> BpmnWorkflow:
    workflow = BpmnWorkflow(V1.spec, V1.subprocess_specs, script_engine=ENGINE)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(holder_post=7, sla_duration="P3D")
    workflow.do_engine_steps()
    return workflow


def _ready(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def test_same_ids_map_onto_themselves_and_the_state_round_trips():
    workflow = _at_noting()
    plan = migrate.plan(workflow, V2)
    assert [t.as_dict() for t in plan.tokens] == [
        {"from": "noting", "to": "noting", "kind": "user", "problem": None}]
    moved = migrate.apply(workflow, plan.mapping, V2, ENGINE)
    assert snapshot(moved) == snapshot(workflow)  # same step, same data, same timer
    back = load_state(dump_state(moved), V2.spec, V2.subprocess_specs, ENGINE)
    assert snapshot(back) == snapshot(moved)
    [task] = back.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec is V2.spec.task_specs["noting"]
    task.data.update(to_approver=True, action="forward")
    task.run()
    back.do_engine_steps()
    assert _ready(back) == ["approval"]


def test_the_sla_timer_keeps_its_due_time():
    workflow = _at_noting()
    [old] = [t for t in workflow.get_tasks(state=TaskState.WAITING)
             if t.task_spec.name == "noting_sla_timer"]
    spiff_private.set_internal(old, event_value="2031-01-02T03:04:05+00:00")
    moved = migrate.apply(workflow, {"noting": "noting"}, V2, ENGINE)
    [new] = [t for t in moved.get_tasks(state=TaskState.WAITING)
             if t.task_spec.name == "noting_sla_timer"]
    assert spiff_private.get_internal(new, "event_value") == "2031-01-02T03:04:05+00:00"


def test_a_step_absent_in_the_target_cannot_be_mapped():
    plan = migrate.plan(_at_noting(), V3)
    assert plan.problems == ["'noting' has no step 'noting' in the target version"]
    with pytest.raises(ValueError, match="cannot be mapped"):
        migrate.apply(_at_noting(), plan.mapping, V3, ENGINE)


def test_an_explicit_mapping_moves_to_a_renamed_step():
    plan = migrate.plan(_at_noting(), V3, {"noting": "drafting"})
    assert plan.problems == []
    moved = migrate.apply(_at_noting(), plan.mapping, V3, ENGINE)
    assert _ready(moved) == ["drafting"]


def test_a_step_of_another_kind_cannot_be_mapped():
    plan = migrate.plan(_at_noting(), V2, {"noting": "lock_file"})
    assert plan.problems == ["'noting' is a user step, but 'lock_file' in the target version "
                             "is a different kind of step"]
