"""How long a post may hold an item (CSMOP), and when that limit runs out.

A limit comes from the most specific SLA rule matching the task's post's department, the
BPMN task id and the item's priority; without one, the CSMOP default (7 working days;
Priority 3, Immediate 1, Top Priority 4 working hours). Limits count working time on the
calendar of the receiving post's office (engine/sla/calendars.py, workcal.py).
SANCHIKA_SLA_DEFAULT replaces every limit with one plain clock duration (demonstrations and
tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.sla.calendars import OfficeCalendars
from engine.sla.workcal import WorkingCalendar, parse_clock, parse_weekend
from engine.store import config_cache
from engine.store.admin_models import Office
from engine.store.models import File, Instance, Post, Section
from engine.store.sla_models import Holiday, SlaRule, WorkCalendar

PRIORITIES = ("Normal", "Priority", "Immediate", "Top Priority")
UNITS = ("working_days", "working_hours")

# CSMOP: 7 working days unless a rule says otherwise; gradings shorten it.
CSMOP_LIMITS: dict[str, tuple[int, str]] = {
    "Normal": (7, "working_days"), "Priority": (3, "working_days"),
    "Immediate": (1, "working_days"), "Top Priority": (4, "working_hours"),
}
# Kept for process data (`sla_duration`); the SLA timers' real due time comes from due_at.
_ISO = {"Normal": "P7D", "Priority": "P3D", "Immediate": "P1D", "Top Priority": "PT4H"}
# The timer expression that marks a boundary timer as the task's SLA timer.
SLA_EXPRESSION = "sla_duration"
# The holder is warned when this share of the limit has passed.
WARN_FRACTION = 0.8


def limit_for(priority: str, override: str | None) -> str:
    """An ISO duration for the process variable `sla_duration` (older diagrams use it as a
    plain duration; Sanchika replaces it by the rule-based due time, see due_at)."""
    return override or _ISO.get(priority, _ISO["Normal"])


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str
    rule_id: int | None = None  # None: the CSMOP default


def parse_override(value: str) -> timedelta:
    """SANCHIKA_SLA_DEFAULT as a timedelta; ValueError naming the setting if malformed."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return TimerEventDefinition.get_timedelta_from_start(parsed)
    except Exception:
        raise ValueError(f"SANCHIKA_SLA_DEFAULT: {value!r} is not an ISO-8601 duration "
                         "such as PT3S or P2D") from None


def load_calendar(session: Session, office_id: int | None = None) -> WorkingCalendar:
    """The calendar an office works by (None: the installation-wide default, with only
    the installation-wide holidays)."""
    return load_office_calendars(session).for_office(office_id)


def _calendar_of(row: WorkCalendar) -> WorkingCalendar:
    try:
        tz = ZoneInfo(row.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("Asia/Kolkata")
    return WorkingCalendar(weekend=parse_weekend(row.weekend),
                           day_start=parse_clock(row.day_start, "day_start"),
                           day_end=parse_clock(row.day_end, "day_end"), tz=tz)


def load_office_calendars(session: Session) -> OfficeCalendars:
    """Every calendar row, holiday, office parent and post's office, for
    OfficeCalendars (engine/sla/calendars.py) to resolve without further queries."""
    default = WorkingCalendar()
    own: dict[int, WorkingCalendar] = {}
    for row in session.scalars(select(WorkCalendar).order_by(WorkCalendar.id)):
        if row.office_id is None:
            default = _calendar_of(row)
        else:
            own[row.office_id] = _calendar_of(row)
    holidays: dict[int | None, set[date]] = {}
    for office_id, day in session.execute(select(Holiday.office_id, Holiday.day)):
        holidays.setdefault(office_id, set()).add(day)
    parents = dict(session.execute(select(Office.id, Office.parent_id)).all())
    # A section without an office works in its department's secretariat (engine/domain/offices.py).
    heads: dict[int, int] = {}
    for oid, dept in session.execute(select(Office.id, Office.department_id)
                                     .where(Office.kind == "secretariat").order_by(Office.id)):
        heads.setdefault(dept, oid)
    post_offices = {post: office if office is not None else heads.get(dept)
                    for post, office, dept in session.execute(
                        select(Post.id, Section.office_id, Section.department_id)
                        .join(Section, Post.section_id == Section.id))}
    return OfficeCalendars(default=default, own=own, parents=parents,
                           holidays={k: frozenset(v) for k, v in holidays.items()},
                           post_offices=post_offices)


def department_of_post(session: Session, post_id: int) -> int | None:
    return session.scalar(select(Section.department_id).join(Post, Post.section_id == Section.id)
                          .where(Post.id == post_id))


@dataclass(frozen=True)
class _Rule:
    id: int
    department_id: int | None
    task_spec: str | None
    priority: str | None
    amount: int
    unit: str


def _load_rules(session: Session) -> list[_Rule]:
    return [_Rule(r.id, r.department_id, r.task_spec, r.priority, r.amount, r.unit)
            for r in session.scalars(select(SlaRule))]


def _load_departments(session: Session) -> dict[int, int]:
    return dict(session.execute(select(Post.id, Section.department_id)
                                .join(Section, Post.section_id == Section.id)).all())


def find_limit(session: Session, department_id: int | None, task_spec: str,
               priority: str, rules: list[Any] | None = None) -> Limit:
    """The most specific rule: a task id match outranks a department match, which outranks
    a priority match; every set field of a rule must match."""
    best: tuple[tuple[int, int, int], Any] | None = None
    for rule in rules if rules is not None else session.scalars(select(SlaRule)):
        if rule.department_id is not None and rule.department_id != department_id:
            continue
        if rule.task_spec is not None and rule.task_spec != task_spec:
            continue
        if rule.priority is not None and rule.priority != priority:
            continue
        score = (rule.task_spec is not None, rule.department_id is not None,
                 rule.priority is not None)
        key = (int(score[0]), int(score[1]), int(score[2]))
        if best is None or key > best[0] or (key == best[0] and rule.id > best[1].id):
            best = (key, rule)
    if best is not None:
        return Limit(best[1].amount, best[1].unit, best[1].id)
    amount, unit = CSMOP_LIMITS.get(priority, CSMOP_LIMITS["Normal"])
    return Limit(amount, unit)


def priority_of(session: Session, instance: Instance) -> str:
    if instance.subject_kind == "file" and instance.subject_id is not None:
        file = session.get(File, instance.subject_id)
        if file is not None:
            return file.priority
    return "Normal"


class SlaPolicy:
    """Works out an SLA timer's due time when a user task opens (called by the runtime)."""

    def __init__(self, override: str | None):
        self.override = parse_override(override) if override else None

    def due_at(self, session: Session, instance: Instance, task_spec: str, post_id: int,
               start: datetime) -> datetime:
        if self.override is not None:
            return start + self.override
        # rules, calendar and posts' departments: cached in-process (engine/store/config_cache.py)
        departments = config_cache.get("post_departments", session, _load_departments)
        rules = config_cache.get("sla_rules", session, _load_rules)
        limit = find_limit(session, departments.get(post_id), task_spec,
                           priority_of(session, instance), rules)
        # the receiving post's office's calendar (its own, or inherited up the office tree)
        calendars = config_cache.get("office_calendars", session, load_office_calendars)
        calendar = calendars.for_post(post_id)
        if limit.unit == "working_hours":
            return calendar.add_working_time(start, timedelta(hours=limit.amount))
        return calendar.add_working_days(start, limit.amount)


def warn_at(start: datetime, due: datetime) -> datetime:
    """When the holder is told the limit is near: after 80% of the (clock) span."""
    return start + (due - start) * WARN_FRACTION
