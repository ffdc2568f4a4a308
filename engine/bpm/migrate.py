"""Moving a running instance to another version of its process.

Where a token waits (a ready user task, a waiting catching event) is mapped by element
id: the same id in both versions is the same step, unless an explicit mapping says
otherwise. A token whose step is absent in the target version (or is a different kind
of step there) cannot be mapped, and such an instance is not moved.

The move builds a fresh workflow of the target version and grafts each token onto it
with the data it had, as if the step had just been reached; a user task's boundary
timers (its SLA) keep their due time. The same function runs again in the re-execution
check (engine/bpm/reexecute.py), so `sanchika verify` replays a migrated instance from
its start on the old version, through the move, on the new one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.audit.history import canonical_json
from engine.bpm import spiff_private
from engine.bpm.reader import ReadBpmn

BOUNDARY_SPLIT = "BoundaryEventSplit"


@dataclass
class Token:
    """One place the instance waits, and where it would land."""

    source: str
    target: str | None
    kind: str                 # "user" | "event"
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "kind": self.kind,
                "problem": self.problem}


@dataclass
class Plan:
    tokens: list[Token] = field(default_factory=list)
    # Problems not tied to a token (the instance is mid-step, inside a sub-process...)
    blockers: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.blockers + [t.problem for t in self.tokens if t.problem]

    @property
    def mapping(self) -> dict[str, str]:
        return {t.source: t.target for t in self.tokens if t.target is not None}


def _waiting_tokens(workflow: BpmnWorkflow) -> tuple[list[Task], list[str]]:
    """The tasks a token waits at, in a stable order, and what stops a move."""
    blockers: list[str] = []
    if any(not sub.is_completed() for sub in workflow.subprocesses.values()):
        blockers.append("a token is inside a sub-process; sub-processes are not migrated")
    tokens: list[Task] = []
    for task in workflow.get_tasks(skip_subprocesses=True):
        name = type(task.task_spec).__name__
        if task.state == TaskState.READY and task.task_spec.manual:
            tokens.append(task)
        elif task.state == TaskState.WAITING:
            parent = task.parent
            if parent is not None and type(parent.task_spec).__name__ == BOUNDARY_SPLIT:
                continue  # a boundary event of a waiting task: it moves with its task
            if "Join" in name or "Gateway" in name:
                blockers.append(f"'{task.task_spec.name}' waits for other branches to join; "
                                "a join in progress cannot be moved")
                continue
            tokens.append(task)
        elif task.state in (TaskState.READY, TaskState.STARTED):
            blockers.append(f"'{task.task_spec.name}' is in the middle of running")
    tokens.sort(key=lambda t: (t.task_spec.name, canonical_json(t.data)))
    return tokens, blockers


def _kind(spec: TaskSpec) -> str:
    return "user" if spec.manual else "event"


def _event_type(spec: TaskSpec | None) -> type | None:
    definition = getattr(spec, "event_definition", None)
    return type(definition) if definition is not None else None


def plan(workflow: BpmnWorkflow, target: ReadBpmn, mapping: dict[str, str] | None = None
         ) -> Plan:
    """Where each token would land in `target`, and what cannot be mapped."""
    mapping = mapping or {}
    tasks, blockers = _waiting_tokens(workflow)
    result = Plan(blockers=blockers)
    for task in tasks:
        source = task.task_spec.name
        kind = _kind(task.task_spec)
        target_id = mapping.get(source, source)
        spec = target.spec.task_specs.get(target_id)
        problem = None
        if spec is None or type(spec).__name__ in {BOUNDARY_SPLIT, "BoundaryEventJoin"}:
            problem = f"'{source}' has no step '{target_id}' in the target version"
            target_id = None
        elif _kind(spec) != kind or (kind == "event" and _event_type(spec) != _event_type(
                task.task_spec)):
            problem = (f"'{source}' is a {kind} step, but '{target_id}' in the target version "
                       "is a different kind of step")
        result.tokens.append(Token(source, target_id, kind, problem))
    return result


def _entry(spec: TaskSpec) -> TaskSpec:
    """What to graft for a step: a task with boundary events is entered through its
    split, so its timers start waiting beside it."""
    inputs = spec.inputs
    if len(inputs) == 1 and type(inputs[0]).__name__ == BOUNDARY_SPLIT:
        return inputs[0]
    return spec


def apply(workflow: BpmnWorkflow, moves: dict[str, str], target: ReadBpmn,
          script_engine: Any) -> BpmnWorkflow:
    """A workflow of `target` with the tokens of `workflow` moved by `moves`
    (source step -> target step, from a plan without problems). Deterministic: the
    re-execution check calls it with the recorded moves."""
    tasks, blockers = _waiting_tokens(workflow)
    if blockers:
        raise ValueError(blockers[0])
    moved = BpmnWorkflow(target.spec, target.subprocess_specs, script_engine=script_engine)
    moved.data = copy.deepcopy(workflow.data)
    root = spiff_private.bare_start(moved)
    for task in tasks:
        target_id = moves.get(task.task_spec.name)
        spec = target.spec.task_specs.get(target_id) if target_id else None
        if spec is None:
            raise ValueError(f"'{task.task_spec.name}' cannot be mapped to the target version")
        spiff_private.graft(root, _entry(spec), copy.deepcopy(task.data))
    moved.do_engine_steps()  # runs the boundary splits: tasks turn ready, their timers wait
    _keep_due_times(workflow, moved)
    return moved


def _keep_due_times(old: BpmnWorkflow, new: BpmnWorkflow) -> None:
    """A timer waiting in both versions keeps its due time: a migration does not restart
    anyone's SLA or a scheduled wait."""
    due: dict[str, Any] = {}
    for task in old.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
        value = spiff_private.get_internal(task, "event_value")
        if value is not None:
            due.setdefault(task.task_spec.name, value)
    for task in new.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
        if task.task_spec.name in due:
            spiff_private.set_internal(task, event_value=copy.deepcopy(due[task.task_spec.name]))
