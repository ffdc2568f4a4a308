"""Service actions for time limits: the admin's SLA rules, calendar and holidays, the
due-soon sweep, the pendency report, and processes that start on a timer. A mixin of
`Sanchika` (engine/app.py); every public method is one transaction."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.bpm.runtime import Runtime, defer_timer_rows, write_deferred_timer_rows
from engine.bpm.script_pool import ScriptPending, scripts_inline
from engine.commands.executor import CommandRunner, run_pending
from engine.domain import offices, org, timer_claims
from engine.errors import Conflict, InvalidInput, NotFound
from engine.notify import notices
from engine.read import reports
from engine.read.views import iso
from engine.sla.policy import PRIORITIES, UNITS, load_calendar, load_office_calendars
from engine.sla.workcal import WorkingCalendar, parse_clock, parse_weekend
from engine.store import batch_cache
from engine.store.admin_models import Office
from engine.store.db import Database, get_or_404, rows_changed
from engine.store.models import (
    Department,
    File,
    OpenTask,
    ProcessDefinition,
    Receipt,
    User,
    utcnow,
)
from engine.store.sla_models import Holiday, SlaRule, WorkCalendar

log = logging.getLogger(__name__)


class SlaServices(CommandRunner):
    db: Database
    runtime: Runtime

    # ------------------------------------------------------------ holidays

    def holidays(self, actor: User) -> list[dict[str, Any]]:
        """Every holiday, each naming its office (None: the whole installation)."""
        org.require_role(actor, "admin")
        with self.db.reader() as s:
            codes = _office_codes(s)
            return [_holiday(h, codes)
                    for h in s.scalars(select(Holiday).order_by(Holiday.day, Holiday.id))]

    def add_holiday(self, actor: User, day: date, name: str,
                    office: str | None = None) -> dict[str, Any]:
        """A holiday of the installation, or (with `office`, a code) of that office and
        the offices below it."""
        org.require_role(actor, "admin")
        name = (name or "").strip()
        if not name:
            raise InvalidInput("name: required (e.g. 'Republic Day')")
        with self.command() as s:
            office_id = _office_id(s, office)
            if s.scalar(select(Holiday.id).where(
                    Holiday.day == day, _eq(Holiday.office_id, office_id))) is not None:
                where = f" in office {office}" if office_id is not None else ""
                raise Conflict(f"day: {day.isoformat()} is already a holiday{where}")
            holiday = Holiday(day=day, name=name[:200], office_id=office_id)
            s.add(holiday)
            s.flush()
            return _holiday(holiday, _office_codes(s))

    def delete_holiday(self, actor: User, holiday_id: int) -> None:
        org.require_role(actor, "admin")
        with self.command() as s:
            holiday = s.get(Holiday, holiday_id)
            if holiday is None:
                raise NotFound(f"no holiday with id {holiday_id}")
            s.delete(holiday)

    # ------------------------------------------------------------ calendar

    def work_calendar(self, actor: User, office: str | None = None) -> dict[str, Any]:
        """The calendar an office works by (default: the installation's), saying whether
        it is the office's own or inherited and from where."""
        org.require_role(actor, "admin")
        with self.db.reader() as s:
            office_id = _office_id(s, office)
            calendars = load_office_calendars(s)
            source = calendars.source(office_id)
            codes = _office_codes(s)
            return {**_calendar(calendars.for_office(office_id)), "office": office,
                    "own": office_id is not None and source == office_id,
                    "inherited_from": codes.get(source) if source is not None else None}

    def set_work_calendar(self, actor: User, fields: dict[str, Any],
                          office: str | None = None) -> dict[str, Any]:
        """Set the weekly off days, hours or time zone of the installation or (with
        `office`) of that office; unset fields keep what the office works by now."""
        org.require_role(actor, "admin")
        office = office or fields.get("office") or None
        current = self.work_calendar(actor, office)
        merged = {**current, **{k: v for k, v in fields.items() if v is not None}}
        try:
            weekend = parse_weekend(merged["weekend"])
            start = parse_clock(merged["day_start"], "day_start")
            end = parse_clock(merged["day_end"], "day_end")
            tz = ZoneInfo(merged["timezone"])
            WorkingCalendar(weekend=weekend, day_start=start, day_end=end, tz=tz)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise InvalidInput(_plain(exc)) from None
        with self.command() as s:
            office_id = _office_id(s, office)
            if office_id is None:
                row = s.get(WorkCalendar, 1) or WorkCalendar(id=1)
            else:
                row = s.scalar(select(WorkCalendar).where(
                    WorkCalendar.office_id == office_id)) or WorkCalendar(office_id=office_id)
            row.weekend = ",".join(str(d) for d in sorted(weekend))
            row.day_start, row.day_end = start.strftime("%H:%M"), end.strftime("%H:%M")
            row.timezone = merged["timezone"]
            s.add(row)
        return self.work_calendar(actor, office)

    def clear_work_calendar(self, actor: User, office: str) -> dict[str, Any]:
        """Drop an office's own calendar: it inherits its parent's again."""
        org.require_role(actor, "admin")
        with self.command() as s:
            office_id = _office_id(s, office)
            if office_id is None:
                raise InvalidInput("office: required (the installation's calendar stays)")
            row = s.scalar(select(WorkCalendar).where(WorkCalendar.office_id == office_id))
            if row is not None:
                s.delete(row)
        return self.work_calendar(actor, office)

    # ------------------------------------------------------------ SLA rules

    def sla_rules(self, actor: User) -> list[dict[str, Any]]:
        org.require_role(actor, "admin")
        with self.db.reader() as s:
            codes = dict(s.execute(select(Department.id, Department.code)).all())
            return [_rule(r, codes) for r in s.scalars(select(SlaRule).order_by(SlaRule.id))]

    def add_sla_rule(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        org.require_role(actor, "admin")
        priority = fields.get("priority") or None
        if priority is not None and priority not in PRIORITIES:
            raise InvalidInput(f"priority: must be one of {', '.join(PRIORITIES)}")
        unit = fields.get("unit")
        if unit not in UNITS:
            raise InvalidInput(f"unit: must be one of {', '.join(UNITS)}")
        amount = fields.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 366:
            raise InvalidInput("amount: a whole number from 1 to 366")
        task_spec = (fields.get("task_id") or "").strip() or None
        with self.command() as s:
            department_id = None
            if fields.get("department"):
                department_id = s.scalar(select(Department.id).where(
                    Department.code == fields["department"]))
                if department_id is None:
                    raise InvalidInput(f"department: no department '{fields['department']}'")
            same = s.scalar(select(SlaRule.id).where(
                _eq(SlaRule.department_id, department_id), _eq(SlaRule.task_spec, task_spec),
                _eq(SlaRule.priority, priority)))
            if same is not None:
                raise Conflict(f"rule {same} already covers this department, task and "
                               "priority; delete it first")
            rule = SlaRule(department_id=department_id, task_spec=task_spec, priority=priority,
                           amount=amount, unit=unit, created_by=actor.username)
            s.add(rule)
            s.flush()
            codes = dict(s.execute(select(Department.id, Department.code)).all())
            return _rule(rule, codes)

    def delete_sla_rule(self, actor: User, rule_id: int) -> None:
        org.require_role(actor, "admin")
        with self.command() as s:
            rule = s.get(SlaRule, rule_id)
            if rule is None:
                raise NotFound(f"no SLA rule with id {rule_id}")
            s.delete(rule)

    # ------------------------------------------------------------ firing timers

    # Instances fired per transaction: fewer commits, and one batch's cache of posts,
    # holders and definitions. (On SQLite the batch holds the write lock: a smaller one
    # shortens an action's wait during a burst, but each batch pays for its claim query.)
    timer_batch = 25

    def fire_due_timers(self, limit: int = 500, budget_seconds: float | None = None) -> int:
        """Fire pending timers whose time has come, `timer_batch` instances per
        transaction. Each batch claims its timer rows inside the firing transaction: on
        PostgreSQL with `FOR UPDATE SKIP LOCKED` (timer rows and then instance rows), so
        every server process can sweep at once and none fires an instance another is
        firing; on SQLite the write lock (BEGIN IMMEDIATE) serialises the batches. An
        instance whose firing fails is logged and left pending for the next sweep; the rest
        of its batch is fired again without it. With `budget_seconds`, no new batch starts
        after that long. At most `limit` instances are claimed per call. Returns how many
        instances were advanced."""
        started = time.monotonic()
        with self.db.reader() as s:
            # a suspended version's timer start events wait until it resumes
            held = self._held_start_timers(s)
        skip: set[int] = set()  # failed or busy in this call: not claimed again
        ran: set[str] = set()  # scripts run outside the write lock in this call
        inline = False
        advanced = claimed = 0
        batch = max(1, self.timer_batch)
        while claimed < limit:
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                break
            try:
                if inline:  # a script whose data changed between attempts: bounded all the same
                    with scripts_inline():
                        fired, ids = self._fire_batch(min(batch, limit - claimed), skip, held)
                    inline = False
                else:
                    fired, ids = self._fire_batch(min(batch, limit - claimed), skip, held)
            except ScriptPending as pending:
                # The batch rolled back, so the write lock is free while the script runs in
                # its worker; the batch then fires again and finds the script's result.
                if pending.script in ran:
                    inline = True
                else:
                    ran.add(pending.script)
                    run_pending(pending)
                continue
            except _BrokenInstance as broken:
                log.error("instance %s: its due timer could not fire", broken.instance_id,
                          exc_info=broken.__cause__)
                skip.add(broken.instance_id)
                continue
            except Conflict:  # lost a race at commit: the next sweep sees the new state
                break
            advanced += fired
            claimed += len(ids)
            if not ids:
                break
        return advanced

    def _fire_batch(self, size: int, skip: set[int], held: list[tuple[int, str]] | None = None
                    ) -> tuple[int, list[int]]:
        """Claim up to `size` instances with due timers and fire them in one transaction;
        (fired, claimed ids). `held`: timer start events of suspended versions (not claimed)."""
        with self.command() as s:
            batch_cache.enable(s)
            defer_timer_rows(s)
            ids = timer_claims.claim_due(s, size, skip, utcnow(), held or [])
            instances = timer_claims.lock_instances(s, ids)
            fired = 0
            for instance_id in ids:
                instance = instances.get(instance_id)
                if instance is None:  # an action holds it right now: a later sweep fires it
                    skip.add(instance_id)
                    continue
                try:
                    self.runtime.fire_timers(s, instance)
                except ScriptPending:
                    raise  # the whole batch rolls back: the script runs outside the lock
                except Exception as exc:  # rolls the batch back; fired again without it
                    raise _BrokenInstance(instance_id) from exc
                fired += 1
            write_deferred_timer_rows(s)
        return fired, ids

    # ------------------------------------------------------------ due soon

    def warn_due_soon(self, limit: int = 500) -> int:
        """Tell each holder once when most of a task's limit has passed (open_tasks.warn_at).
        Each task in its own transaction; the warning time is cleared in the same one, and
        the outbox event key is per task, so nobody is warned twice for one task."""
        now = utcnow()
        with self.db.reader() as s:
            due = list(s.scalars(select(OpenTask.id).where(
                OpenTask.warn_at.is_not(None), OpenTask.warn_at <= now,
                OpenTask.closed_at.is_(None)).order_by(OpenTask.warn_at).limit(limit)))
        warned = 0
        for task_id in due:
            with self.command() as s:
                claimed = s.execute(
                    update(OpenTask).where(OpenTask.id == task_id, OpenTask.warn_at.is_not(None))
                    .values(warn_at=None).execution_options(synchronize_session=False))
                if rows_changed(claimed) != 1:
                    continue  # another sweeper took it
                task = get_or_404(s, OpenTask, task_id)
                if task.due_at is None or task.due_at <= now:
                    continue  # already breached: the escalation tells them
                label, subject = _label(s, task)
                for user in org.holders_of(s, task.post_id):
                    notices.send(s, f"due_soon:{task.id}", [user], "due_soon", label=label,
                                 subject=subject, step=task.name,
                                 due=_local_time(s, task.due_at))
                warned += 1
        return warned

    # ------------------------------------------------------------ reports

    def pendency(self, actor: User) -> dict[str, Any]:
        org.require_role(actor, "officer", "auditor", "admin")
        with self.db.reader() as s:
            return reports.pendency(s, actor, utcnow())

    # ------------------------------------------------------------ timer start events

    def _held_start_timers(self, s: Session) -> list[tuple[int, str]]:
        """(version id, timer start event) of every suspended version."""
        held = []
        for definition in s.scalars(select(ProcessDefinition).where(
                ProcessDefinition.suspended)):
            read = self.runtime.definitions.loaded(definition)
            held += [(definition.id, t.name) for t in read.spec.start.outputs
                     if isinstance(getattr(t, "event_definition", None), TimerEventDefinition)]
        return held

    def _start_scheduled(self, s: Session, definition: ProcessDefinition) -> None:
        """A process whose start event is a timer starts itself: a newly deployed version
        gets one instance waiting on that timer (the scheduler then runs it)."""
        read = self.runtime.definitions.loaded(definition)
        starts = read.spec.start.outputs
        if any(isinstance(getattr(t, "event_definition", None), TimerEventDefinition)
               for t in starts):
            self.runtime.start(s, definition.process_id, {}, actor=None, subject_kind=None,
                               subject_id=None, definition=definition)


class _BrokenInstance(Exception):
    def __init__(self, instance_id: int):
        super().__init__(f"instance {instance_id}")
        self.instance_id = instance_id


def _eq(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _holiday(h: Holiday, codes: dict[int, str]) -> dict[str, Any]:
    return {"id": h.id, "day": h.day.isoformat(), "name": h.name,
            "office": codes.get(h.office_id) if h.office_id is not None else None}


def _office_codes(s: Session) -> dict[int, str]:
    return dict(s.execute(select(Office.id, Office.code)).all())


def _office_id(s: Session, code: str | None) -> int | None:
    """An office code as its id (None or "": the installation); InvalidInput if unknown."""
    if not code:
        return None
    return offices.by_code(s, code).id


def _rule(r: SlaRule, codes: dict[int, str]) -> dict[str, Any]:
    return {"id": r.id, "department": codes.get(r.department_id) if r.department_id else None,
            "task_id": r.task_spec, "priority": r.priority, "amount": r.amount,
            "unit": r.unit, "created_by": r.created_by, "created_at": iso(r.created_at)}


def _calendar(c: WorkingCalendar) -> dict[str, Any]:
    return {"weekend": sorted(c.weekend), "day_start": c.day_start.strftime("%H:%M"),
            "day_end": c.day_end.strftime("%H:%M"), "timezone": c.tz.key,
            "day_hours": c.day_length / timedelta(hours=1)}


def _label(s: Session, task: OpenTask) -> tuple[str, str]:
    if task.file_id is not None:
        file = get_or_404(s, File, task.file_id)
        return file.file_no, file.subject
    if task.receipt_id is not None:
        receipt = get_or_404(s, Receipt, task.receipt_id)
        return receipt.diary_no, receipt.subject
    return task.name, task.name


def _local_time(s: Session, moment: Any) -> str:
    tz = load_calendar(s).tz  # the installation's time zone (an office's may differ)
    return moment.astimezone(tz).strftime("%d-%m-%Y %H:%M")


def _plain(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return text if ":" in text else f"timezone: unknown time zone {text}"
