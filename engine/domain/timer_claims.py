"""Claiming due timers for firing, inside the firing transaction.

On PostgreSQL every server process sweeps: `SELECT ... FOR UPDATE SKIP LOCKED` hands each
sweeper its own due timer rows (the earliest not already taken), and the instances are then
locked the same way, so an instance an action (or another sweeper) is writing right now is
left for a later sweep instead of waiting or conflicting. The locks go with the commit, by
which time the timers are marked fired. On SQLite (one writer at a time, BEGIN IMMEDIATE)
FOR UPDATE is not rendered and the write lock does the same job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.store.models import Instance, Timer


def claim_due(session: Session, size: int, skip: set[int], now: datetime,
              held: list[tuple[int, str]] | None = None) -> list[int]:
    """The instances (at most `size`) of the earliest due, pending timers no one else holds,
    their timer rows locked until commit; `skip`: instances not to claim; `held`:
    (version id, timer start event) pairs that wait (a suspended version's start timers)."""
    query = select(Timer.instance_id).where(Timer.status == "pending", Timer.due_at <= now)
    if held:
        query = query.join(Instance, Instance.id == Timer.instance_id).where(~or_(*(
            and_(Instance.definition_id == d, Timer.task_spec == n) for d, n in held)))
    if skip:
        query = query.where(Timer.instance_id.not_in(skip))
    query = (query.order_by(Timer.due_at).limit(size)
             .with_for_update(skip_locked=True, of=Timer))
    return list(dict.fromkeys(session.scalars(query)))


def lock_instances(session: Session, ids: list[int]) -> dict[int, Instance]:
    """The claimed instances, loaded in one query and locked (PostgreSQL); an instance
    locked by a concurrent action is missing from the result."""
    if not ids:
        return {}
    rows = session.scalars(select(Instance).where(Instance.id.in_(ids))
                           .with_for_update(skip_locked=True))
    return {row.id: row for row in rows}
