"""Tables for time limits: SLA rules, the working calendar, holidays, and the lease that
chooses the one process whose scheduler fires timers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class SlaRule(Base):
    """How long a post may hold an item. NULL department / task / priority means "any";
    the most specific matching rule wins (engine/sla/policy.py)."""

    __tablename__ = "sla_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    task_spec: Mapped[str | None] = mapped_column(String(128))   # BPMN user task id
    priority: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))  # working_days | working_hours
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))


class Holiday(Base):
    """A holiday of the whole installation (office_id NULL) or of one office, which then
    applies to that office and every office below it (engine/sla/calendars.py)."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("office_id", "day", name="uq_holidays_office_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)


class WorkCalendar(Base):
    """Weekly off days and office hours, in the office's time zone. The row with no office
    (id 1) is the installation's default; a row with an office_id is that office's own
    calendar, inherited by the offices below it that have none."""

    __tablename__ = "work_calendar"
    __table_args__ = (UniqueConstraint("office_id", name="uq_work_calendar_office_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    weekend: Mapped[str] = mapped_column(String(16), default="5,6")  # Monday=0 … Sunday=6
    day_start: Mapped[str] = mapped_column(String(5), default="10:00")
    day_end: Mapped[str] = mapped_column(String(5), default="18:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Kolkata")


class SchedulerLease(Base):
    """Whoever holds an unexpired lease runs the timer sweep; taken and renewed only by
    conditional UPDATEs, so at most one process holds it at a time."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
