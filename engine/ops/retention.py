"""Retention: rows nothing reads any more leave the hot tables (`sanchika prune` and a
daily job of the lease holder, engine/ops/retention_schedule.py).

What goes, and why nothing misses it (docs/operations.md, "Retention"):

- **Delivered e-mail and SMS** (`outbox`, status sent) older than RETENTION_OUTBOX_DAYS,
  with their attachments: delivery is done; the admin's outbox view counts pending and
  failed rows, which are kept. A failed message is never pruned.
- **In-app notifications** older than RETENTION_OUTBOX_DAYS that are not among a user's
  newest `NOTIFICATIONS_KEPT` (the notifications page shows the newest 50, so it reads
  the same before and after).
- **Closed tasks** (`open_tasks` with closed_at) older than RETENTION_TASK_DAYS, which may
  not be shorter than the longest report window (time at desk and adoption reach back
  24 months of 31 days). Kept whatever their age: the task that closed a file (the
  "Closed" list of the desk reads it) and every late action (the pendency report's late
  actions and the monitoring reports list them with their reasons).
- **Fired and cancelled timers** whose due time is older than RETENTION_TIMER_DAYS: the
  sweeps and the runtime read pending timers only; replay reads the history.

The history itself is never pruned: replay, export, re-execution and `sanchika verify`
read it alone, never these rows. Each batch is its own short command (a bounded DELETE
of rows chosen by id), so a prune never holds a long lock; a second process pruning at
the same time deletes nothing twice (a row already gone is simply not counted), and a
second run finds nothing left: pruning is idempotent. A run that removed anything is
recorded in the audit log (`data_pruned`) with its counts and cut-off dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from engine.domain.files import _iso
from engine.store.access_models import AuditEntry
from engine.store.admin_models import OutboxAttachment
from engine.store.models import OpenTask, OutboxMessage, Timer, utcnow

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.store.db import Database

BATCH = 1000
NOTIFICATIONS_KEPT = 50  # engine/commands/desk.py notification_list shows this many
KINDS = ("outbox", "notifications", "tasks", "timers")


@dataclass(frozen=True)
class Policy:
    outbox_days: float  # 0: keep for ever
    task_days: float
    timer_days: float

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(settings.retention_outbox_days, settings.retention_task_days,
                   settings.retention_timer_days)

    def cutoffs(self, now: datetime) -> dict[str, datetime | None]:
        def before(days: float) -> datetime | None:
            return now - timedelta(days=days) if days > 0 else None

        return {"outbox": before(self.outbox_days), "notifications": before(self.outbox_days),
                "tasks": before(self.task_days), "timers": before(self.timer_days)}


# ---------------------------------------------------------------- what may go


def _outbox(cutoff: datetime) -> Select[Any]:
    o = OutboxMessage
    return select(o.id).where(
        o.channel != "app", o.status == "sent",
        or_(o.sent_at < cutoff, and_(o.sent_at.is_(None), o.created_at < cutoff)))


def _notifications(cutoff: datetime) -> Select[Any]:
    o, newer = OutboxMessage, aliased(OutboxMessage)
    # at least NOTIFICATIONS_KEPT newer in-app messages of the same user exist
    kept_newer = (select(newer.id).where(newer.user_id == o.user_id, newer.channel == "app",
                                         newer.id > o.id)
                  .order_by(newer.id).offset(NOTIFICATIONS_KEPT - 1).limit(1)
                  .correlate(o).exists())
    return select(o.id).where(o.channel == "app", o.created_at < cutoff, kept_newer)


def _tasks(cutoff: datetime) -> Select[Any]:
    t = OpenTask
    return select(t.id).where(
        t.closed_at.is_not(None), t.closed_at < cutoff,
        or_(t.action.is_(None), t.action != "close"),
        or_(t.due_at.is_(None), t.closed_at <= t.due_at))


def _timers(cutoff: datetime) -> Select[Any]:
    return select(Timer.id).where(Timer.status.in_(("fired", "cancelled")),
                                  Timer.due_at < cutoff)


CANDIDATES: dict[str, Callable[[datetime], Select[Any]]] = {
    "outbox": _outbox, "notifications": _notifications, "tasks": _tasks, "timers": _timers}


def _delete(s: Session, kind: str, ids: list[int]) -> int:
    if kind in ("outbox", "notifications"):
        s.execute(delete(OutboxAttachment).where(OutboxAttachment.outbox_id.in_(ids)))
        table: Any = OutboxMessage
    else:
        table = OpenTask if kind == "tasks" else Timer
    result = s.execute(delete(table).where(table.id.in_(ids))
                       .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- running


CommandFactory = Callable[[], Any]  # a context manager giving a command's session


def count(db: Database, policy: Policy, now: datetime | None = None) -> dict[str, int]:
    """What a prune would remove now (`--dry-run`): a read, nothing changes."""
    cutoffs = policy.cutoffs(now or utcnow())
    out = dict.fromkeys(KINDS, 0)
    with db.reader() as s:
        for kind, cutoff in cutoffs.items():
            if cutoff is not None:
                sub = CANDIDATES[kind](cutoff).subquery()
                out[kind] = int(s.scalar(select(func.count()).select_from(sub)) or 0)
    return out


def prune(db: Database, command: CommandFactory, policy: Policy, *,
          now: datetime | None = None, batch: int = BATCH, actor: str = "system",
          stop: Callable[[], bool] | None = None) -> dict[str, int]:
    """Delete, a bounded batch per command, everything `policy` lets go; the counts.
    `stop`: asked between batches (a shutting-down server stops at the next one)."""
    now = now or utcnow()
    cutoffs = policy.cutoffs(now)
    removed = dict.fromkeys(KINDS, 0)
    for kind, cutoff in cutoffs.items():
        if cutoff is None:
            continue
        last = 0  # keyset: rows a concurrent pruner still holds are not retried for ever
        while stop is None or not stop():
            with command() as s:
                # SKIP LOCKED (PostgreSQL; SQLite has one writer): two pruners at once
                # take different rows instead of waiting on, or deadlocking over, the same
                ids = list(s.scalars(CANDIDATES[kind](cutoff).where(_id(kind) > last)
                                     .order_by(_id(kind)).limit(batch)
                                     .with_for_update(skip_locked=True)))
                if not ids:
                    break
                last = ids[-1]
                removed[kind] += _delete(s, kind, ids)
    if any(removed.values()):
        with command() as s:
            s.add(AuditEntry(at=now, actor=actor, kind="data_pruned", subject="retention",
                             data={"removed": removed,
                                   "before": {k: _iso(v) for k, v in cutoffs.items()}}))
    return removed


def _id(kind: str) -> Any:
    if kind in ("outbox", "notifications"):
        return OutboxMessage.id
    return OpenTask.id if kind == "tasks" else Timer.id
