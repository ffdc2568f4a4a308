"""Tables for time limits: SLA rules, the working calendar, holidays, and the lease that
chooses the one process whose scheduler fires timers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
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
    __tablename__ = "holidays"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(200))


class WorkCalendar(Base):
    """One row (id 1): the weekly off days and office hours, in the office's time zone."""

    __tablename__ = "work_calendar"
    id: Mapped[int] = mapped_column(primary_key=True)
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
