"""The runtime's one walk of the task tree (engine/bpm/runtime.py `TaskScan`) must find
exactly what SpiffWorkflow's `get_tasks` finds, in the same order: the open-task rows, the
timer rows and the history events are written in that order."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpm.runtime import TaskScan
from tests.unit.test_golden_state import _load


def _same(workflow: Any) -> None:
    scan = TaskScan.of(workflow)
    assert scan.ready_manual == workflow.get_tasks(state=TaskState.READY, manual=True)
    assert scan.started == workflow.get_tasks(state=TaskState.STARTED)
    assert scan.timers == [
        t for t in workflow.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]


def test_scan_matches_get_tasks_at_every_step() -> None:
    read, workflow = _load()
    meta = read.meta["tasks"]
    _same(workflow)
    assert [t.task_spec.name for t in TaskScan.of(workflow).timers] == ["noting_sla_timer"]
    seen_started = False
    for spec, data in (("noting", {"action": "forward", "holder_post": 6,
                                   "to_approver": True}),
                       ("approval", {"action": "approve"}),
                       ("closure", {"action": "close", "record_category": "C"})):
        [task] = TaskScan.of(workflow).ready_manual
        assert task.task_spec.name == spec
        task.data.update(data)
        task.run()
        while True:
            workflow.do_engine_steps()
            _same(workflow)
            started = [t for t in TaskScan.of(workflow).started
                       if meta.get(t.task_spec.name, {}).get("kind") == "service"]
            if not started:
                break
            seen_started = True
            for t in started:
                t.complete()
    assert seen_started  # the walk was checked with service tasks waiting too
    assert workflow.is_completed()
    _same(workflow)
