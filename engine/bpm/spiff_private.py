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
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
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
    the registry) and on BpmnWorkflow's `deserializing` constructor flag.

    Every action stores its workflow, so `to_dict` writes the tasks itself: the same dict
    SpiffWorkflow's TaskConverter and BpmnSubWorkflowConverter make (same keys, same
    order, so the same JSON), without the registry's dispatch per task and with each task
    id turned into text once instead of up to three times. Where the registry maps Task or
    BpmnSubWorkflow to another converter, SpiffWorkflow's own path runs.
    `reference_to_dict` is that path; tests/unit/test_codec.py checks the two give the
    same JSON."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        task_typename = self._typename(Task, TaskConverter)
        sub_typename = self._typename(BpmnSubWorkflow, BpmnSubWorkflowConverter)
        if task_typename is None or sub_typename is None:
            return self.reference_to_dict(workflow)
        dct = self._workflow_dict(workflow, task_typename)
        dct["subprocesses"] = {
            str(key): self._subworkflow_dict(sub, task_typename, sub_typename)
            for key, sub in workflow.subprocesses.items()}
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def reference_to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """SpiffWorkflow's own conversion (the registry's converter for every object)."""
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def _typename(self, cls: type, converter: type) -> str | None:
        """The registry's name for `cls` when SpiffWorkflow's `converter` (exactly) is the
        one registered for it, else None."""
        typename = self.registry.typenames.get(cls)
        to_dict = self.registry.convert_to_dict.get(typename)
        func = getattr(to_dict, "args", (None, None))[-1]  # partial(_obj_to_dict, name, f)
        owner = getattr(func, "__self__", None)
        return typename if type(owner) is converter else None

    def _workflow_dict(self, workflow: Any, task_typename: str) -> dict[str, Any]:
        """WorkflowConverter.to_dict, its tasks written by `_task_dicts`."""
        registry = self.registry
        return {
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None
            else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self._task_dicts(workflow.tasks, task_typename),
            "root": str(workflow.task_tree.id),
        }

    def _subworkflow_dict(self, sub: Any, task_typename: str, typename: str
                          ) -> dict[str, Any]:
        """BpmnSubWorkflowConverter.to_dict with the registry's typename, as the registry
        writes it."""
        dct = self._workflow_dict(sub, task_typename)
        dct["parent_task_id"] = str(sub.parent_task_id)
        dct["spec"] = sub.spec.name
        dct["typename"] = typename
        return dct

    def _task_dicts(self, tasks: dict[UUID, Task], typename: str) -> dict[str, Any]:
        """TaskConverter.to_dict of every task, keyed by id, as the registry writes it.
        Ids are looked up by their integer (UUID's own hash and == are Python code)."""
        convert = self.registry.convert
        updated, deleted = DeepMerge.get_updated_keys, DeepMerge.get_deleted_keys
        by_int = {key.int: task for key, task in tasks.items()}
        text = {key.int: str(key) for key in tasks}
        out: dict[str, Any] = {}
        for key, task in tasks.items():
            parent_id = task._parent
            # Task.parent: the workflow's task with that id, if there is one
            parent = None if parent_id is None else by_int.get(parent_id.int)
            if parent is None:
                data, delta = task.data, {}
                parent_text = None
            else:
                data = {}
                delta = {"updates": updated(parent.data, task.data),
                         "deletions": deleted(parent.data, task.data)}
                parent_text = text[parent_id.int]
            internal = task.internal_data
            task_id = text[key.int]  # a task is kept under its own id
            out[task_id] = {
                "id": task_id,
                "parent": parent_text,
                "children": [text.get(child.int) or str(child) for child in task._children],
                "last_state_change": task.last_state_change,
                "state": task.state,
                "task_spec": task.task_spec.name,
                "triggered": task.triggered,
                "internal_data": convert(internal) if internal else {},
                "data": data,
                "delta": delta,
                "typename": typename,
            }
        return out

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
