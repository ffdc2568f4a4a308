"""Deterministic re-execution: run an instance again, in memory, from its deployed BPMN
version, applying the inputs its history recorded (start data, each task completion's
data, each timer firing, what each handler put into the process data), and compare the
result with the stored workflow state — or, for a finished instance, with the final
data its `instance_completed` event recorded.

Handlers are not called (they write records and send notices); their recorded effect on
the process data is applied instead. A mismatch means the stored state or the history
was altered, and `sanchika verify` reports it like any other tampering.

Scripts are re-run, in a worker process under the same limits as at run time
(engine/bpm/script_pool.py): a script is a function of its task data, so it gives the same
result, and a script that failed fails again where the history says it did.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.audit.history import canonical_json
from engine.bpm import migrate, spiff_private
from engine.bpm.codec import load_state
from engine.bpm.definitions import Definitions
from engine.bpm.runtime import Failure, _waiting_timers, started_service_tasks
from engine.bpm.sandbox import make_script_engine
from engine.store.models import ProcessDefinition

INPUTS = ("instance_started", "task_completed", "instance_migrated")
# A version by id: a migrated instance is re-run on each version it ran on.
Lookup = Callable[[int], ProcessDefinition]


class Mismatch(Exception):
    """The history cannot be replayed to the stored state."""


@dataclass
class Snapshot:
    completed: bool
    ready: list[tuple[str, str]]   # (task spec, canonical data) of ready user tasks
    timers: list[str]              # spec names of waiting timers

    def differences(self, other: Snapshot) -> list[str]:
        out = []
        if self.completed != other.completed:
            out.append(f"finished: stored {self.completed}, re-executed {other.completed}")
        mine = [s for s, _ in self.ready]
        theirs = [s for s, _ in other.ready]
        if mine != theirs:
            out.append(f"ready steps: stored {mine}, re-executed {theirs}")
        elif self.ready != other.ready:
            names = [a[0] for a, b in zip(self.ready, other.ready, strict=True) if a != b]
            out.append(f"process data at {', '.join(names)} differs")
        if self.timers != other.timers:
            out.append(f"waiting timers: stored {self.timers}, re-executed {other.timers}")
        return out


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    ready = sorted((t.task_spec.name, canonical_json(t.data))
                   for t in workflow.get_tasks(state=TaskState.READY, manual=True))
    return Snapshot(completed=workflow.is_completed(), ready=ready,
                    timers=sorted(t.task_spec.name for t in _waiting_timers(workflow)))


class Reexecutor:
    def __init__(self, definitions: Definitions):
        self.definitions = definitions
        self.script_engine = make_script_engine()

    def run(self, definition: ProcessDefinition, events: list[Any],
            upto: int | None = None, lookup: Lookup | None = None) -> BpmnWorkflow:
        """The workflow after applying the recorded inputs of `events` (up to seq `upto`).
        `definition` is the instance's version now; a migrated instance started on the
        version its first `instance_migrated` event names (found with `lookup`)."""
        definition = _first_version(definition, events, lookup)
        read = self.definitions.loaded(definition)
        meta = definition.meta["tasks"]
        handlers = _handler_calls(events, upto)
        workflow: BpmnWorkflow | None = None
        actions = _actions(events, upto)
        try:
            for first, fired in actions:
                if first.kind == "instance_started":
                    workflow = BpmnWorkflow(read.spec, read.subprocess_specs,
                                            script_engine=self.script_engine)
                    for task in workflow.get_tasks(state=TaskState.READY):
                        task.data.update(_data(first).get("data") or {})
                elif workflow is None:
                    raise Mismatch(f"event #{first.seq} ({first.kind}) comes before the "
                                   "instance started")
                elif first.kind == "task_completed":
                    self._complete(workflow, first)
                elif first.kind == "instance_migrated":
                    workflow, meta = self._migrate(workflow, first, lookup)
                self._advance(workflow, meta, handlers)
                for timer in fired:
                    self._fire(workflow, timer)
                    self._advance(workflow, meta, handlers)
        except WorkflowException as exc:
            if workflow is None or not _failed_as_recorded(exc, events, upto):
                raise Mismatch(f"the process could not be re-run: {str(exc).splitlines()[0]}"
                               ) from exc
        if workflow is None:
            raise Mismatch("the history has no instance_started event")
        _all_handlers_reached(handlers)
        return workflow

    def check(self, definition: ProcessDefinition, events: list[Any], status: str,
              state: str | None, lookup: Lookup | None = None) -> list[str]:
        """Differences between re-execution and what is stored (empty when they agree)."""
        try:
            workflow = self.run(definition, events, lookup=lookup)
        except Mismatch as exc:
            return [str(exc)]
        mine = snapshot(workflow)
        if status == "completed" or state is None:
            if not workflow.is_completed():
                return [f"stored as finished, but re-execution stops at "
                        f"{[s for s, _ in mine.ready] or 'no step'}"]
            done = next((e for e in reversed(events) if e.kind == "instance_completed"), None)
            if done is None:
                return ["finished, but the history records no completion"]
            final = workflow.last_task.data if workflow.last_task is not None else {}
            recorded = _data(done).get("data")
            if recorded is not None and canonical_json(recorded) != canonical_json(final):
                return ["the final process data differs from the recorded completion"]
            return []
        read = self.definitions.loaded(definition)
        try:
            stored = snapshot(load_state(state, read.spec, read.subprocess_specs,
                                         self.script_engine))
        except Exception as exc:  # an unreadable blob is tampering too
            return [f"the stored workflow state cannot be read: {exc.__class__.__name__}"]
        return stored.differences(mine)

    # ------------------------------------------------------------ steps

    def _complete(self, workflow: BpmnWorkflow, event: Any) -> None:
        data = _data(event)
        inputs = data.get("inputs")
        if inputs is None:
            raise Mismatch(f"event #{event.seq} (task_completed) records no inputs")
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.name == event.task_spec]
        if not ready:
            raise Mismatch(f"event #{event.seq} completes step {event.task_spec}, which is "
                           "not ready at that point")
        task = ready[0]
        task.data.update(inputs)
        task.run()

    def _migrate(self, workflow: BpmnWorkflow, event: Any, lookup: Lookup | None
                 ) -> tuple[BpmnWorkflow, dict[str, Any]]:
        """The recorded move to another version, made again (engine/bpm/migrate.py)."""
        target = _version(lookup, event, "to_definition_id")
        try:
            moved = migrate.apply(workflow, _data(event).get("moves") or {},
                                  self.definitions.loaded(target), self.script_engine)
        except ValueError as exc:
            raise Mismatch(f"event #{event.seq} (instance_migrated): {exc}") from exc
        return moved, target.meta["tasks"]

    def _advance(self, workflow: BpmnWorkflow, meta: dict[str, Any],
                 handlers: dict[str, deque]) -> None:
        """As runtime._run_engine, with the recorded handler effects instead of handlers."""
        while True:
            workflow.do_engine_steps()
            started = started_service_tasks(workflow, meta)
            if not started:
                return
            for task in started:
                queue = handlers.get(task.task_spec.name)
                if not queue:
                    raise Mismatch(f"the process runs handler "
                                   f"'{meta[task.task_spec.name].get('handler')}' at step "
                                   f"{task.task_spec.name}, but the history records no call")
                event = queue.popleft()
                data_set = _data(event).get("data_set")
                if data_set is not None:
                    task.data.clear()
                    task.data.update(data_set)
                task.complete()

    def _fire(self, workflow: BpmnWorkflow, event: Any) -> None:
        waiting = [t for t in _waiting_timers(workflow) if t.task_spec.name == event.task_spec]
        if not waiting:
            raise Mismatch(f"event #{event.seq} fires timer {event.task_spec}, which is not "
                           "waiting at that point")
        spiff_private.mark_event_fired(waiting[0])


def _all_handlers_reached(handlers: dict[str, deque]) -> None:
    left = [e for q in handlers.values() for e in q]
    if left:
        e = min(left, key=lambda x: x.seq)
        raise Mismatch(f"event #{e.seq} records handler '{_data(e).get('handler')}' at "
                       f"step {e.task_spec}, which the process does not reach")


def _first_version(definition: ProcessDefinition, events: list[Any],
                   lookup: Lookup | None) -> ProcessDefinition:
    """The version the instance started on: the one its first migration left."""
    moved = next((e for e in events if e.kind == "instance_migrated"), None)
    if moved is None:
        return definition
    return _version(lookup, moved, "from_definition_id")


def _version(lookup: Lookup | None, event: Any, key: str) -> ProcessDefinition:
    """The version a migration event names; a missing or unknown one is a mismatch."""
    if lookup is None:
        raise Mismatch("the instance was migrated; its earlier versions are needed")
    try:
        return lookup(int(_data(event)[key]))
    except Exception as exc:  # absent, not a number, or no such version: all tampering
        raise Mismatch(f"event #{event.seq} (instance_migrated) names no deployed version "
                       f"as {key}") from exc


def _handler_calls(events: list[Any], upto: int | None) -> dict[str, deque]:
    handlers: dict[str, deque] = defaultdict(deque)
    for e in events:
        if e.kind == "handler_called" and (upto is None or e.seq <= upto):
            handlers[e.task_spec].append(e)
    return handlers


def _failed_as_recorded(exc: WorkflowException, events: list[Any], upto: int | None) -> bool:
    """An instance stopped by its own failing script or expression fails here again; that
    matches its history (a `process_failed` event), and the states are compared as usual."""
    failure = Failure.of(exc, any_error=True)  # matched against the recorded failure
    return failure is not None and any(
        e.kind == "process_failed" and e.task_spec == failure.element
        and (upto is None or e.seq <= upto) for e in events)


def _data(event: Any) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {}


def _actions(events: list[Any], upto: int | None) -> list[tuple[Any, list[Any]]]:
    """Input events, each with the timer firings recorded after it (up to the next input):
    a firing in a later sweep changes nothing else in between, so it replays the same."""
    actions: list[tuple[Any, list[Any]]] = []
    for e in events:
        if upto is not None and e.seq > upto:
            break
        if e.kind in INPUTS:
            actions.append((e, []))
        elif e.kind == "timer_fired" and actions:
            actions[-1][1].append(e)
    return actions
