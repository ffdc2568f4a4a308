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


def _both_ways(workflow: BpmnWorkflow) -> None:
    """The converter's own task writer gives SpiffWorkflow's JSON, byte for byte."""
    fast = _converter().to_dict(workflow)
    reference = _converter().reference_to_dict(workflow)
    assert json.dumps(fast, separators=(",", ":")) == json.dumps(reference,
                                                                 separators=(",", ":"))


def _converter():  # type: ignore[no-untyped-def]
    from engine.bpm.codec import _registry
    from engine.bpm.spiff_private import SpecFreeWorkflowConverter

    converter = _registry.convert_to_dict[_registry.typenames[BpmnWorkflow]].args[-1].__self__
    assert isinstance(converter, SpecFreeWorkflowConverter)
    # the registry maps tasks and sub-processes to SpiffWorkflow's own converters, so
    # `to_dict` takes its own path (not the reference one it falls back to otherwise)
    from SpiffWorkflow.bpmn.serializer.default.workflow import (
        BpmnSubWorkflowConverter,
        TaskConverter,
    )
    from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
    from SpiffWorkflow.task import Task

    assert converter._typename(Task, TaskConverter) == "Task"
    assert converter._typename(BpmnSubWorkflow, BpmnSubWorkflowConverter) is not None
    return converter


def test_task_writer_matches_spiffworkflow_at_every_step_of_a_file() -> None:
    from tests.unit.test_golden_state import _load

    read, workflow = _load()
    meta = read.meta["tasks"]
    _both_ways(workflow)
    for spec, data in (("noting", {"action": "forward", "holder_post": 7, "to_approver": False,
                                   "remark": "हिंदी टिप्पणी", "nested": {"a": [1, 2.5, None]}}),
                       ("noting", {"action": "forward", "holder_post": 6, "to_approver": True}),
                       ("approval", {"action": "approve"}),
                       ("closure", {"action": "close", "record_category": "C"})):
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert [t.task_spec.name for t in ready] == [spec]
        ready[0].data.update(data)
        ready[0].run()
        while True:
            workflow.do_engine_steps()
            _both_ways(workflow)
            started = [t for t in workflow.get_tasks(state=TaskState.STARTED)
                       if meta.get(t.task_spec.name, {}).get("kind") == "service"]
            if not started:
                break
            for task in started:
                task.complete()
    assert workflow.is_completed()
    _both_ways(workflow)


def test_task_writer_matches_spiffworkflow_with_sub_processes_and_timers() -> None:
    from lxml import etree
    from SpiffWorkflow.bpmn.parser import BpmnParser

    from tests.unit.test_task_scan import NESTED

    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(NESTED))
    workflow = BpmnWorkflow(parser.get_spec("nested"), parser.get_subprocess_specs("nested"))
    workflow.do_engine_steps()
    assert workflow.subprocesses
    _both_ways(workflow)
    for name in ("inner", "outer"):
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True, spec_name=name)
        task.data["done"] = name
        task.run()
        workflow.do_engine_steps()
        _both_ways(workflow)
    read = _read(BPMN)
    timed = BpmnWorkflow(read.spec, read.subprocess_specs, script_engine=make_script_engine())
    timed.do_engine_steps()
    assert any(t.internal_data for t in timed.get_tasks())  # a timer's due time
    _both_ways(timed)
