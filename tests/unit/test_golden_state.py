"""The stored workflow-state format is a contract with every database in service: a state
written by the spec-free codec (tests/data/golden/, made with SpiffWorkflow 3.2.0 by the
codec as it was before the command core) must still load and run to completion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from SpiffWorkflow.util.task import TaskState

import handlers
from engine.bpm.codec import dump_state, load_state
from engine.bpm.reader import read_bpmn
from engine.bpm.runtime import started_service_tasks
from engine.bpm.sandbox import make_script_engine

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"


def _load() -> tuple[Any, Any]:
    read = read_bpmn((GOLDEN / "file_approval.bpmn").read_bytes(), handlers.registry.names(),
                     10_000_000)
    stored = json.loads((GOLDEN / "file_approval_at_noting.json").read_text())
    workflow = load_state(stored["state"], read.spec, read.subprocess_specs, make_script_engine())
    return read, workflow


def _steps(workflow: Any, meta: dict[str, Any]) -> list[str]:
    """Engine steps; service tasks complete without their handlers (as re-execution does)."""
    ran = []
    while True:
        workflow.do_engine_steps()
        started = started_service_tasks(workflow, meta)
        if not started:
            return ran
        for task in started:
            ran.append(task.task_spec.name)
            task.complete()


def _complete(workflow: Any, meta: dict[str, Any], spec: str, data: dict[str, Any]
              ) -> list[str]:
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.name for t in ready] == [spec]
    ready[0].data.update(data)
    ready[0].run()
    return _steps(workflow, meta)


def test_golden_state_loads_where_it_was_stored() -> None:
    _, workflow = _load()
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.name for t in ready] == ["noting"]
    data = ready[0].data
    assert data["holder_post"] == 4
    assert data["creator_post"] == 5
    assert data["file_id"] == 3
    # the SLA boundary timer waits with the due time the SLA rules gave it
    timers = [t for t in workflow.get_tasks(state=TaskState.WAITING)
              if t.task_spec.name == "noting_sla_timer"]
    assert len(timers) == 1
    assert timers[0]._get_internal_data("event_value") == "2026-12-10T12:30:00+00:00"
    assert not workflow.is_completed()


def test_golden_state_runs_to_completion_and_round_trips() -> None:
    read, workflow = _load()
    meta = read.meta["tasks"]
    # saved again and reloaded midway: today's codec reads its own output
    workflow = load_state(dump_state(workflow), read.spec, read.subprocess_specs,
                          make_script_engine())
    _complete(workflow, meta, "noting", {"action": "forward", "holder_post": 6,
                                         "to_approver": True})
    ran = _complete(workflow, meta, "approval", {"action": "approve"})
    assert ran == ["lock_file", "notify_approved"]
    _complete(workflow, meta, "closure", {"action": "close", "record_category": "C"})
    assert workflow.is_completed()
    assert workflow.last_task.data["record_category"] == "C"
