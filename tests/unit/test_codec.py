"""Workflow state is stored without its process spec and loads back to the same state
(pure: the BPMN is read and run in memory)."""

from __future__ import annotations

import json
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

import handlers
from engine.bpm.codec import dump_state, load_state
from engine.bpm.reader import read_bpmn
from engine.bpm.sandbox import make_script_engine

BPMN = Path(__file__).resolve().parents[1] / "data" / "scheduled_check.bpmn"


def _read(path: Path):  # type: ignore[no-untyped-def]
    return read_bpmn(path.read_bytes(), handlers.registry.names(), 2 * 1024 * 1024)


def test_state_round_trips_without_the_spec():
    read = _read(BPMN)
    workflow = BpmnWorkflow(read.spec, read.subprocess_specs, script_engine=make_script_engine())
    workflow.do_engine_steps()
    state = dump_state(workflow)
    stored = json.loads(state)
    assert "spec" not in stored
    assert "subprocess_specs" not in stored
    again = load_state(state, read.spec, read.subprocess_specs, make_script_engine())
    assert dump_state(again) == state
    assert {str(t.id): t.state for t in again.get_tasks()} == {
        str(t.id): t.state for t in workflow.get_tasks()}


def test_a_waiting_timer_survives_the_round_trip():
    read = _read(BPMN)
    workflow = BpmnWorkflow(read.spec, read.subprocess_specs, script_engine=make_script_engine())
    workflow.do_engine_steps()
    waiting = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING)]
    again = load_state(dump_state(workflow), read.spec, read.subprocess_specs,
                       make_script_engine())
    assert [t.task_spec.name for t in again.get_tasks(state=TaskState.WAITING)] == waiting
    assert waiting
    assert read.meta["timers"]
