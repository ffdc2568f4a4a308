"""Every use of SpiffWorkflow internals (underscore methods, serializer plumbing) in one
place. The stored workflow state and the SLA timers depend on them, and SpiffWorkflow may
change them in any release: tests/unit/test_spiff_private.py pins the version these were
checked against and fails loudly on an upgrade, and tests/unit/test_golden_state.py checks
that a state stored by an earlier version still loads and runs.

Used by engine/bpm/codec.py (the spec-free converter), engine/bpm/runtime.py (timer due
times), engine/bpm/reexecute.py (firing a recorded event again) and engine/bpm/migrate.py
(grafting tokens onto a fresh workflow of another version).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# The SpiffWorkflow release these internals were last checked against.
CHECKED_VERSION = "3.2.0"


def get_internal(task: Task, name: str) -> Any:
    """A task's internal data (e.g. a timer's `event_value`: its due time)."""
    return task._get_internal_data(name)


def set_internal(task: Task, **values: Any) -> None:
    task._set_internal_data(**values)


def mark_event_fired(task: Task) -> None:
    """Fire a catching event's task as SpiffWorkflow does when the event arrives."""
    task._set_internal_data(event_fired=True)
    task.task_spec._update(task)


def bare_start(workflow: BpmnWorkflow) -> Task:
    """A fresh workflow's root task, completed, with nothing predicted below it: the
    place a migration grafts its tokens onto (engine/bpm/migrate.py)."""
    root = workflow.task_tree
    root._drop_children(force=True)
    root._set_state(TaskState.COMPLETED)
    return root


def graft(parent: Task, spec: TaskSpec, data: dict[str, Any]) -> Task:
    """A token at `spec` under `parent`, with `data`, updated as if its parent had just
    completed (a user task turns ready, a catching event starts waiting)."""
    task = parent._add_child(spec, TaskState.LIKELY)  # predicted: _update predicts below it
    spec._update(task)  # inherits the (empty) root data, then turns ready or waits
    task.data = data
    return task


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's workflow converter without the spec: the spec is kept once per
    deployed version and handed back on load. Relies on the converter's helpers
    (mapping_to_dict / mapping_from_dict, set_default_attributes, subprocesses_from_dict,
    the registry) and on BpmnWorkflow's `deserializing` constructor flag."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: BpmnProcessSpec | None = None,
                  subprocess_specs: dict | None = None) -> BpmnWorkflow:
        if spec is None:
            raise ValueError("a spec-free workflow needs its spec to load")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


# (owner, attribute) pairs the functions above call; checked by the test.
USED = [
    (Task, "_get_internal_data"), (Task, "_set_internal_data"), (Task, "_drop_children"),
    (Task, "_set_state"), (Task, "_add_child"), (TaskSpec, "_update"),
    (BpmnWorkflowConverter, "mapping_to_dict"), (BpmnWorkflowConverter, "mapping_from_dict"),
    (BpmnWorkflowConverter, "set_default_attributes"),
    (BpmnWorkflowConverter, "subprocesses_from_dict"),
]


def missing() -> list[str]:
    """The internals used here that this SpiffWorkflow no longer has."""
    return [f"{owner.__name__}.{name}" for owner, name in USED if not hasattr(owner, name)]
