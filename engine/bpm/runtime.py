"""Running instances: start, complete a user task, run engine steps, and keep the query
tables (open tasks, timers) and the history in step with the workflow — all inside the
caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, bindparam, select, tuple_, update
from sqlalchemy.orm import Session

from engine.audit import history
from engine.bpm import migrate as migration
from engine.bpm import routing, spiff_private
from engine.bpm.codec import dump_state, load_state
from engine.bpm.definitions import Definitions
from engine.bpm.expressions import ExpressionError
from engine.bpm.handler_api import HandlerContext, HandlerRegistry
from engine.bpm.sandbox import make_script_engine
from engine.bpm.script_pool import ScriptFailed, ScriptPending
from engine.bpm.workflow_cache import WorkflowCache
from engine.errors import ActionNotAllowed, Conflict, InvalidInput
from engine.sla.policy import SLA_EXPRESSION, SlaPolicy, warn_at
from engine.store import config_cache
from engine.store.driver_sql import driver_statement
from engine.store.models import Instance, OpenTask, Post, ProcessDefinition, Timer, User, utcnow

# session.info key: timer-row status changes queued for one UPDATE (defer_timer_rows)
DEFERRED_TIMER_ROWS = "sanchika.deferred_timer_rows"


@dataclass
class StepResult:
    """What changed in one action, for the domain layer (holders, movements)."""

    opened: list[OpenTask] = field(default_factory=list)
    closed: list[OpenTask] = field(default_factory=list)
    completed: bool = False


class Runtime:
    def __init__(self, definitions: Definitions, handlers: HandlerRegistry):
        self.definitions = definitions
        self.handlers = handlers
        self.script_engine = make_script_engine()
        # Sets SLA timers' due times from the rules; None keeps the diagram's durations.
        self.sla: SlaPolicy | None = None
        self.cache = WorkflowCache()
        # what handlers receive; the e-Office gives them its own (engine/app.py)
        self.handler_context: type[HandlerContext] = HandlerContext

    # ------------------------------------------------------------------ public

    def start(self, session: Session, process_id: str, data: dict[str, Any], *,
              actor: User | None, subject_kind: str | None, subject_id: int | None,
              definition: ProcessDefinition | None = None) -> tuple[Instance, StepResult]:
        if definition is None:  # the current version, from the cache (no query)
            definition_id, version = self.definitions.latest_ref(session, process_id)
        else:
            if definition.suspended:
                raise ActionNotAllowed(
                    f"process '{definition.process_id}' version {definition.version} is "
                    "suspended: nothing new starts on it")
            definition_id, version = definition.id, definition.version
            process_id = definition.process_id
        read = self.definitions.of_instance(session, definition_id)[1]
        workflow = BpmnWorkflow(read.spec, read.subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        instance = Instance(definition_id=definition_id, process_id=process_id,
                            subject_kind=subject_kind, subject_id=subject_id, status="running")
        session.add(instance)
        session.flush()
        history.append(session, instance, "instance_started", actor=_name(actor),
                       data={"process_id": process_id, "version": version, "data": data})
        result = self._advance(session, instance, workflow, actor)
        return instance, result

    def complete(self, session: Session, open_task: OpenTask, data: dict[str, Any], *,
                 actor: User | None, history_data: dict[str, Any] | None = None) -> StepResult:
        """Complete one ready user task with data; stale or already-done ⇒ Conflict.
        Nothing is written until the command flushes: the instance's versioned UPDATE then
        claims it, and a concurrent action on the same instance fails there (rolled back)."""
        instance = session.get(Instance, open_task.instance_id)
        if instance is None or instance.status != "running" or instance.state is None:
            raise Conflict("this process has already finished")
        workflow = self.load(instance, session)
        task = workflow.get_task_from_id(UUID(open_task.task_uuid))
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict("this task has already been acted on")
        before = _rows_before(workflow)
        task.data.update(data)
        # `inputs` is exactly what was applied to the task: the re-execution check
        # (engine/bpm/reexecute.py) replays it; `task_id` ties the event to its task_ready.
        record = dict(history_data) if history_data is not None else {}
        record.update(inputs=data, task_id=str(task.id))
        history.append(session, instance, "task_completed", actor=_name(actor),
                       task_spec=task.task_spec.name, data=record)
        try:
            task.run()
        except ScriptPending:
            raise  # the command rolls back and runs again once the script has run
        except WorkflowException as exc:
            raise ActionNotAllowed(f"the process could not continue: {_plain(exc)}") from exc
        return self._advance(session, instance, workflow, actor, before, completed=open_task)

    def fire_timers(self, session: Session, instance: Instance) -> StepResult:
        """Run the instance's timers that have come due (SLA escalations and the like).
        Safe to repeat: a timer fires once, and a stale version is a Conflict."""
        if instance.status != "running" or instance.state is None:
            return StepResult()
        workflow = self.load(instance, session)
        before = _rows_before(workflow)
        workflow.refresh_timers()
        return self._advance(session, instance, workflow, None, before)

    def migrate(self, session: Session, instance: Instance, target: ProcessDefinition,
                mapping: dict[str, str] | None, *, actor: User | None,
                dry_run: bool) -> migration.Plan:
        """Where the instance's tokens would land on `target` (dry run), or move them there:
        the open-task rows follow their tasks (same holder, same due time), the timers are
        re-set with their due times, and one `instance_migrated` event records the move
        that the re-execution check repeats."""
        if instance.status != "running" or instance.state is None:
            raise Conflict(f"instance {instance.id} has finished; only running ones move")
        workflow = self.load(instance, session)
        read = self.definitions.loaded(target)
        plan = migration.plan(workflow, read, mapping)
        if dry_run or plan.problems:
            return plan
        source = instance.definition
        before = _Before.of(workflow)
        old_ready = _ready_by_step(workflow)
        moved = migration.apply(workflow, plan.mapping, read, self.script_engine)
        if _ready_by_step(load_state(dump_state(moved), read.spec, read.subprocess_specs,
                                     self.script_engine)).keys() != _ready_by_step(moved).keys():
            raise ActionNotAllowed(f"instance {instance.id}: the moved workflow does not "
                                   "store and load back the same; it was not moved")
        new_ready = _ready_by_step(moved)
        pairs: list[dict[str, str]] = []
        meta = target.meta["tasks"]
        for token in plan.tokens:
            if token.kind != "user" or token.target is None:
                continue
            old = old_ready[token.source].pop(0)
            new = new_ready[token.target].pop(0)
            pairs.append({"step": token.target, "from_task_id": str(old.id),
                          "to_task_id": str(new.id)})
            spec_meta = meta.get(token.target, {})
            for row in session.scalars(select(OpenTask).where(
                    OpenTask.instance_id == instance.id, OpenTask.task_uuid == str(old.id),
                    OpenTask.closed_at.is_(None))):
                row.task_uuid = str(new.id)
                row.task_spec = token.target
                row.name = spec_meta.get("name") or token.target
                row.actions = ",".join(spec_meta.get("actions", ["complete"]))
        history.append(session, instance, "instance_migrated", actor=_name(actor), data={
            "from_definition_id": source.id, "from_version": source.version,
            "to_definition_id": target.id, "to_version": target.version,
            "moves": plan.mapping, "tokens": [t.as_dict() for t in plan.tokens],
            "tasks": pairs})
        instance.definition = target
        self._move_timers(session, instance, moved, before)
        instance.state = dump_state(moved)
        return plan

    def _move_timers(self, session: Session, instance: Instance, moved: BpmnWorkflow,
                     before: _Before) -> None:
        """The old version's waiting timers are cancelled and the moved workflow's set (with
        the due times they kept)."""
        for uuid, (spec, _due) in before.timers.items():
            history.append(session, instance, "timer_cancelled", task_spec=spec,
                           data={"timer_id": uuid, "migrated": True})
        if before.timers:
            session.execute(update(Timer).where(
                Timer.instance_id == instance.id, Timer.task_uuid.in_(list(before.timers)),
                Timer.status == "pending").values(status="cancelled"))
        self._sync_timers(session, instance, moved, _Before(before.ready, {}))

    def load(self, instance: Instance, session: Session | None = None) -> BpmnWorkflow:
        """The instance's live workflow: from the in-memory cache when this process saved
        that very version (and history head) last, else deserialized from its state."""
        if instance.state is None:  # completed instances keep only their history
            raise Conflict(f"instance {instance.id} has completed; it has no live state")
        cached = self.cache.take(instance)
        if cached is not None:
            return cached
        if session is None:
            read = self.definitions.loaded(instance.definition)
        else:
            read = self.definitions.of_instance(session, instance.definition_id)[1]
        return load_state(instance.state, read.spec, read.subprocess_specs, self.script_engine)

    def meta(self, session: Session, instance: Instance) -> dict[str, Any]:
        return self.definitions.of_instance(session, instance.definition_id)[0]["tasks"]

    # ------------------------------------------------------------------ steps

    def _advance(self, session: Session, instance: Instance, workflow: BpmnWorkflow,
                 actor: User | None, before: _Before | None = None,
                 completed: OpenTask | None = None) -> StepResult:
        before = before or _Before()
        failure: Failure | None = None
        scan: TaskScan | None = None
        try:
            scan = self._run_engine(session, instance, workflow, actor)
        except ScriptPending:
            raise  # the command rolls back and runs again once the script has run
        except WorkflowException as exc:
            # With nobody acting (a timer), any error of the diagram stops the instance:
            # refusing would leave its timer to fail again at every sweep.
            failure = Failure.of(exc, any_error=actor is None)
            if failure is None:  # e.g. no condition matched the user's choice: refused
                raise ActionNotAllowed(f"the process could not continue: {_plain(exc)}"
                                       ) from exc
        result = StepResult()
        if scan is None:  # the engine stopped on an error: walk the tree as it was left
            scan = TaskScan.of(workflow)
        # Tasks first: a newly opened task fixes the due time of its SLA timers.
        self._sync_tasks(session, instance, scan, result, before, completed)
        self._sync_timers(session, instance, workflow, before, scan)
        if failure is not None:
            self._fail(session, instance, workflow, actor, failure)
        elif workflow.is_completed():
            instance.status = "completed"
            instance.completed_at = utcnow()
            instance.state = None  # completed instances keep history, not live state
            # The final data stands in for the dropped state in the re-execution check.
            final = workflow.last_task.data if workflow.last_task is not None else {}
            history.append(session, instance, "instance_completed", actor=_name(actor),
                           data={"data": final})
            result.completed = True
        else:
            instance.state = dump_state(workflow)
            self.cache.keep_after_commit(session, instance, workflow)
            _ROWS_AFTER[workflow] = _Before.of_scan(scan)
        return result

    def _fail(self, session: Session, instance: Instance, workflow: BpmnWorkflow,
              actor: User | None, failure: Failure) -> None:
        """A script or expression of the diagram failed or went past its limits: the
        instance stops in the 'failed' state with the element and the reason in its
        history, and its timers stop, so no sweep or restart runs the same code again."""
        instance.status = "failed"
        instance.state = dump_state(workflow)
        history.append(session, instance, "process_failed", actor=_name(actor),
                       task_spec=failure.element,
                       data={"element": failure.element, "name": failure.name,
                             "line": failure.line, "message": failure.message})
        # timers this step fired or cancelled are settled already (a sweep batch writes
        # them at its end): the others stop
        deferred = session.info.get(DEFERRED_TIMER_ROWS) or []
        settled = [uuid for _, instance_id, uuid in deferred if instance_id == instance.id]
        stop = update(Timer).where(Timer.instance_id == instance.id, Timer.status == "pending")
        if settled:
            stop = stop.where(Timer.task_uuid.not_in(settled))
        session.execute(stop.values(status="cancelled"))

    def _run_engine(self, session: Session, instance: Instance, workflow: BpmnWorkflow,
                    actor: User | None) -> TaskScan:
        """Engine steps until only user tasks and timers wait. A service task runs up to
        STARTED and waits for us: we call its named handler, then complete it. Returns the
        last walk of the task tree (nothing started), which the rows are synced from."""
        meta = self.meta(session, instance)
        while True:
            workflow.do_engine_steps()
            scan = TaskScan.of(workflow)
            started = [t for t in scan.started
                       if meta.get(t.task_spec.name, {}).get("kind") == "service"]
            if not started:
                return scan
            for task in started:
                handler = meta[task.task_spec.name]["handler"]
                before = history.canonical_json(task.data)
                ctx = self.handler_context(session=session, instance=instance,
                                           task_spec=task.task_spec.name, data=task.data,
                                           actor=actor)
                self.handlers.get(handler)(ctx)
                record: dict[str, Any] = {"handler": handler, "result": ctx.results}
                if history.canonical_json(task.data) != before:
                    # What the handler put into the process data: the re-execution check
                    # applies it instead of calling the handler (handlers have side effects).
                    record["data_set"] = dict(task.data)
                history.append(session, instance, "handler_called", actor=_name(actor),
                               task_spec=task.task_spec.name, data=record)
                task.complete()

    def _sync_tasks(self, session: Session, instance: Instance, scan: TaskScan,
                    result: StepResult, before: _Before, completed: OpenTask | None) -> None:
        """The open-task rows follow the workflow's ready user tasks. The rows are in step
        with the workflow as it was loaded (`before`), so only the difference is written:
        no query for the rows that stay."""
        ready = {str(t.id): t for t in scan.ready_manual}
        now = utcnow()
        gone = [uuid for uuid in before.ready if uuid not in ready]
        withdrawn = [uuid for uuid in gone if completed is None or uuid != completed.task_uuid]
        if completed is not None and completed.task_uuid in gone:
            completed.closed_at = now
            result.closed.append(completed)
        if withdrawn:  # cancelled by the process (e.g. an interrupting event): rare
            for row in session.scalars(select(OpenTask).where(
                    OpenTask.instance_id == instance.id, OpenTask.task_uuid.in_(withdrawn),
                    OpenTask.closed_at.is_(None))):
                row.closed_at = now
                result.closed.append(row)
                history.append(session, instance, "task_withdrawn", task_spec=row.task_spec,
                               data={"task_id": row.task_uuid, "post_id": row.post_id})
        meta = self.meta(session, instance)
        for uuid, task in ready.items():
            if uuid in before.ready:
                continue
            spec_meta = meta.get(task.task_spec.name, {})
            post_id = self._assignee(session, task, spec_meta)
            received = utcnow()
            self._set_sla_due(session, instance, task, post_id, received)
            due = _due_for(task)
            row = OpenTask(
                instance_id=instance.id, task_uuid=uuid, task_spec=task.task_spec.name,
                name=spec_meta.get("name") or task.task_spec.bpmn_name or task.task_spec.name,
                kind=instance.subject_kind or "process",
                file_id=instance.subject_id if instance.subject_kind == "file" else None,
                receipt_id=instance.subject_id if instance.subject_kind == "receipt" else None,
                post_id=post_id, actions=",".join(spec_meta.get("actions", ["complete"])),
                received_at=received, due_at=due,
                warn_at=warn_at(received, due) if due is not None else None,
            )
            session.add(row)
            result.opened.append(row)
            history.append(session, instance, "task_ready", task_spec=task.task_spec.name,
                           data={"task_id": uuid, "post_id": post_id, "name": row.name,
                                 "due_at": row.due_at.isoformat() if row.due_at else None})

    def _set_sla_due(self, session: Session, instance: Instance, task: SpiffTask,
                     post_id: int, start: datetime) -> None:
        """A boundary timer whose expression is `sla_duration` is the task's SLA timer: its
        due time comes from the SLA rules for this post's department, this task and the
        item's priority, in working time (engine/sla/policy.py), not from the expression."""
        if self.sla is None or task.parent is None:
            return
        timers = [t for t in task.parent.children
                  if t is not task and t.state == TaskState.WAITING
                  and isinstance(getattr(t.task_spec, "event_definition", None),
                                 TimerEventDefinition)
                  and t.task_spec.event_definition.expression.strip() == SLA_EXPRESSION]
        if not timers:
            return
        due = self.sla.due_at(session, instance, task.task_spec.name, post_id, start)
        for timer in timers:
            spiff_private.set_internal(timer, event_value=due.isoformat())

    def _assignee(self, session: Session, task: SpiffTask, spec_meta: dict[str, Any]) -> int:
        named = routing.named_post(session, task.task_spec.name, spec_meta)
        if named is not None:  # camunda:candidateGroups / candidateUsers
            return named
        expression = spec_meta.get("assignee", "holder_post")
        try:
            value = self.script_engine.evaluate(task, expression)
        except WorkflowException as exc:
            raise InvalidInput(
                f"task '{task.task_spec.name}': assignee '{expression}' could not be worked out: "
                f"{_plain(exc)}") from exc
        if isinstance(value, str):  # a username, as Camunda assignees are
            return routing.post_of_user(session, task.task_spec.name, value,
                                        f"assignee '{expression}'")
        if not isinstance(value, int) or not _is_post(session, value):
            raise InvalidInput(
                f"task '{task.task_spec.name}': assignee '{expression}' gave {value!s}, "
                "which is not a post")
        return value

    def _sync_timers(self, session: Session, instance: Instance, workflow: BpmnWorkflow,
                     before: _Before, scan: TaskScan | None = None) -> None:
        """Timer rows follow the workflow's waiting timers, written as the difference from
        the timers that waited when the workflow was loaded (their rows are pending)."""
        if scan is None:
            scan = TaskScan.of(workflow)
        waiting = {str(t.id): t for t in scan.timers}
        fired: list[str] = []
        cancelled: list[str] = []
        for uuid, (spec, due) in before.timers.items():
            if uuid in waiting:
                continue
            task = workflow.get_task_from_id(UUID(uuid))
            if task is not None and task.state == TaskState.COMPLETED:
                fired.append(uuid)
                history.append(session, instance, "timer_fired", task_spec=spec,
                               data={"timer_id": uuid, "due_at": due.isoformat(),
                                     "lag_ms": int((utcnow() - due).total_seconds() * 1000)})
            else:
                cancelled.append(uuid)
                history.append(session, instance, "timer_cancelled", task_spec=spec,
                               data={"timer_id": uuid})
        deferred: list[tuple[str, int, str]] | None = session.info.get(DEFERRED_TIMER_ROWS)
        for status, uuids in (("fired", fired), ("cancelled", cancelled)):
            if uuids and deferred is not None:  # a sweep batch: one UPDATE at its end
                deferred.extend((status, instance.id, uuid) for uuid in uuids)
            elif uuids:  # on the table: no ORM bulk-update machinery (nothing loads timers)
                conn = session.connection()
                driver_statement(conn, _TIMER_DONE).executemany(conn, [
                    {"b_instance": instance.id, "b_uuid": uuid, "b_status": "pending",
                     "new_status": status}
                    for uuid in uuids])
        ctx = session.info.get(history.COMMAND_CONTEXT)
        for uuid, task in waiting.items():
            if uuid in before.timers:
                continue
            new_due = _timer_due(task)
            if new_due is None:
                continue
            row = {"instance_id": instance.id, "task_uuid": uuid,
                   "task_spec": task.task_spec.name, "due_at": new_due, "status": "pending"}
            if ctx is not None:  # a batched Core insert when the command ends
                ctx.add_row(_TIMERS, row)
            else:
                session.add(Timer(**row))
            history.append(session, instance, "timer_set", task_spec=task.task_spec.name,
                           data={"timer_id": uuid, "due_at": new_due.isoformat()})


@dataclass(frozen=True)
class Failure:
    """Why the diagram's own code stopped an instance, for the designer and the item page."""

    element: str
    name: str
    line: int | None
    message: str

    @classmethod
    def of(cls, exc: WorkflowException, any_error: bool = False) -> Failure | None:
        """A failure of the diagram's code (a script, or an expression past its limits);
        with `any_error`, any error of a step; None for anything else."""
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, (ScriptFailed, ExpressionError)):
            cause = cause.__context__
        spec = getattr(exc, "task_spec", None)
        is_script = spec is not None and hasattr(spec, "script")
        if cause is None and not is_script and not any_error:
            return None
        element = spec.name if spec is not None else "?"
        name = (getattr(spec, "bpmn_name", None) or element) if spec is not None else element
        line = getattr(cause, "line", None) or getattr(exc, "line_number", None) or None
        kind = "script" if is_script else "expression"
        if isinstance(cause, ScriptFailed):
            reason = cause.message
        elif cause is not None:
            reason = f"{_plain(exc)}: {cause}".replace(". :", ":")
        else:
            reason = _plain(exc)
        where = f", line {line}" if line else ""
        message = f"the {kind} of step '{name}' ({element}{where}) failed: {reason}"
        return cls(element, name, line, message)


_TIMERS = cast(Table, Timer.__table__)
# built once: pending timers of an instance that fired or were cancelled
_TIMER_DONE = update(_TIMERS).where(
    _TIMERS.c.instance_id == bindparam("b_instance"),
    _TIMERS.c.task_uuid == bindparam("b_uuid"),
    _TIMERS.c.status == bindparam("b_status")).values(status=bindparam("new_status"))


def defer_timer_rows(session: Session) -> None:
    """In this transaction, timer rows that fire or are cancelled are marked by one UPDATE
    per status in `write_deferred_timer_rows` (the sweep's batch) instead of one per
    instance. Nothing in the batch reads those rows back before then."""
    session.info[DEFERRED_TIMER_ROWS] = []


def write_deferred_timer_rows(session: Session) -> None:
    rows: list[tuple[str, int, str]] = session.info.pop(DEFERRED_TIMER_ROWS, None) or []
    for status in ("fired", "cancelled"):
        pairs = [(instance_id, uuid) for st, instance_id, uuid in rows if st == status]
        if pairs:
            session.execute(update(Timer).where(
                tuple_(Timer.instance_id, Timer.task_uuid).in_(pairs),
                Timer.status == "pending").values(status=status)
                .execution_options(synchronize_session=False))


@dataclass
class _Before:
    """What the open-task and timer rows hold for a workflow as loaded: its ready user
    tasks and its waiting timers (uuid -> (spec, due time))."""

    ready: set[str] = field(default_factory=set)
    timers: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @classmethod
    def of(cls, workflow: BpmnWorkflow) -> _Before:
        return cls.of_scan(TaskScan.of(workflow))

    @classmethod
    def of_scan(cls, scan: TaskScan) -> _Before:
        timers = {}
        for task in scan.timers:
            due = _timer_due(task)
            if due is not None:
                timers[str(task.id)] = (task.task_spec.name, due)
        return cls({str(t.id) for t in scan.ready_manual}, timers)


# What the rows hold for a workflow the last action of this process left in the workflow
# cache: its final walk, so the next action on it does not walk the tree again. Taken out
# (popped) by the action that uses the workflow; a workflow that does not go back to the
# cache is never looked up again, and weak keys let it go.
_ROWS_AFTER: WeakKeyDictionary[BpmnWorkflow, _Before] = WeakKeyDictionary()


def _rows_before(workflow: BpmnWorkflow) -> _Before:
    known = _ROWS_AFTER.pop(workflow, None)
    return known if known is not None else _Before.of(workflow)


# SpiffWorkflow's TaskIterator does not descend below this depth; the walk keeps to it
_MAX_DEPTH = 1000
_READY, _WAITING, _STARTED, _FUTURE = (TaskState.READY, TaskState.WAITING, TaskState.STARTED,
                                       TaskState.FUTURE)


@dataclass
class TaskScan:
    """One walk of the task tree that finds what `_advance` needs: the ready user tasks,
    the waiting timers and the started tasks. Each list is in the order of
    `workflow.get_tasks(state=...)` (SpiffWorkflow's BpmnTaskIterator: depth first from
    the root, a sub-process's tree before the children of its task, not descending below
    definite states), which the rows and history events are written in; one walk instead
    of one `get_tasks` per question, each of which walks the whole tree."""

    ready_manual: list[SpiffTask] = field(default_factory=list)
    timers: list[SpiffTask] = field(default_factory=list)
    started: list[SpiffTask] = field(default_factory=list)

    @classmethod
    def of(cls, workflow: BpmnWorkflow) -> TaskScan:
        scan = cls()
        subprocesses = workflow.top_workflow.subprocesses
        stack: list[tuple[SpiffTask, int]] = [(workflow.task_tree, 0)]
        while stack:
            task, depth = stack.pop()
            state = task.state
            if state & _READY:
                if task.task_spec.manual:
                    scan.ready_manual.append(task)
            elif state & _WAITING:
                if isinstance(getattr(task.task_spec, "event_definition", None),
                              TimerEventDefinition):
                    scan.timers.append(task)
            elif state & _STARTED:
                scan.started.append(task)
            # as BpmnTaskIterator: a task's sub-process first, then its children (only of
            # tasks at FUTURE or later unless it has a sub-process), up to its depth limit
            subprocess = subprocesses.get(task.id)
            if depth >= _MAX_DEPTH or (subprocess is None and state < _FUTURE):
                continue
            following = task.children
            if subprocess is not None:
                following = [subprocess.task_tree, *following]
            stack.extend((child, depth + 1) for child in reversed(following))
        return scan


def _is_post(session: Session, post_id: int) -> bool:
    known = config_cache.get("post_ids", session,
                             lambda s: frozenset(s.scalars(select(Post.id))))
    return post_id in known or session.get(Post, post_id) is not None


def started_service_tasks(workflow: BpmnWorkflow, meta: dict[str, Any]) -> list[SpiffTask]:
    """Service tasks the engine ran up to STARTED: each waits for its named handler."""
    return [t for t in workflow.get_tasks(state=TaskState.STARTED)
            if meta.get(t.task_spec.name, {}).get("kind") == "service"]


def _ready_by_step(workflow: BpmnWorkflow) -> dict[str, list[SpiffTask]]:
    """Ready user tasks by step, each list in a stable order (as migrate.plan orders)."""
    found: dict[str, list[SpiffTask]] = {}
    for task in sorted(workflow.get_tasks(state=TaskState.READY, manual=True),
                       key=lambda t: (t.task_spec.name, history.canonical_json(t.data))):
        found.setdefault(task.task_spec.name, []).append(task)
    return found


def _waiting_timers(workflow: BpmnWorkflow) -> list[SpiffTask]:
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            found.append(task)
    return found


def _timer_due(task: SpiffTask) -> datetime | None:
    value = spiff_private.get_internal(task, "event_value")
    if isinstance(value, str):
        try:
            return TimerEventDefinition.get_datetime(value)
        except ValueError:
            return None
    if isinstance(value, dict) and "next" in value:  # cycle timers
        return TimerEventDefinition.get_datetime(value["next"])
    return None


def _due_for(task: SpiffTask) -> datetime | None:
    """A user task's due time: its earliest waiting boundary timer (the SLA)."""
    parent = task.parent
    if parent is None:
        return None
    dues = [_timer_due(t) for t in parent.children
            if t is not task and t.state == TaskState.WAITING
            and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
    waiting = [d for d in dues if d is not None]
    return min(waiting) if waiting else None


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def _plain(exc: Exception) -> str:
    return str(exc).split("\n")[0]
