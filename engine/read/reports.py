"""Reports read indexed rows (open tasks, movements), never workflows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.domain import visibility
from engine.read.views import iso
from engine.sla.policy import department_of_post
from engine.store.models import File, OpenTask, Post, Receipt, Section, User

LATE_ACTIONS_SHOWN = 200


def pendency(s: Session, actor: User, now: datetime) -> dict[str, Any]:
    """Per post (and its officer): items held, the oldest, the average days held and how
    many are overdue; and the latest actions taken after the limit, with their reasons.
    Officers see their own department's counts; a late action names its file or receipt
    and reason only to those who may read that item (engine/domain/visibility.py)."""
    posts = select(Post.id)
    if actor.role == "officer":
        department = department_of_post(s, actor.post_id) if actor.post_id else None
        posts = posts.join(Section, Post.section_id == Section.id).where(
            Section.department_id == department)
    visible = posts
    mean_epoch = _mean_epoch(s, OpenTask.received_at)
    rows = s.execute(
        select(OpenTask.post_id, func.count(), func.min(OpenTask.received_at), mean_epoch,
               func.sum(case((OpenTask.due_at < now, 1), else_=0)))
        .where(OpenTask.closed_at.is_(None), OpenTask.post_id.in_(visible))
        .group_by(OpenTask.post_id)).all()
    held = {r[0]: r for r in rows}
    # every post's officers in one query (not one per post: 2,000 posts, 2,000 queries)
    officers_of: dict[int, list[str]] = {}
    for post_id, username in s.execute(
            select(User.post_id, User.username).where(User.post_id.in_(visible), User.active)
            .order_by(User.username)):
        officers_of.setdefault(post_id or 0, []).append(username)
    out = []
    for post in s.scalars(select(Post).where(Post.id.in_(visible)).order_by(Post.rank.desc(),
                                                                              Post.code)):
        officers = officers_of.get(post.id, [])
        count, oldest, mean, overdue = (held[post.id][1:] if post.id in held
                                        else (0, None, None, 0))
        out.append({
            "post": {"id": post.id, "code": post.code, "title": post.title},
            "officers": officers, "held": count, "oldest": iso(_aware(oldest)),
            "average_days_held": round((now.timestamp() - float(mean)) / 86400, 2)
            if mean is not None else None,
            "overdue": int(overdue or 0),
        })
    return {"at": iso(now), "posts": out, "late_actions": _late_actions(s, actor, visible)}


def _late_actions(s: Session, actor: User, visible: Any) -> list[dict[str, Any]]:
    query = (
        select(OpenTask, User.username, Post.code, File.file_no, Receipt.diary_no)
        .join(User, User.id == OpenTask.closed_by)
        .join(Post, Post.id == OpenTask.post_id)
        .outerjoin(File, File.id == OpenTask.file_id)
        .outerjoin(Receipt, Receipt.id == OpenTask.receipt_id)
        .where(OpenTask.closed_at.is_not(None), OpenTask.due_at.is_not(None),
               OpenTask.closed_at > OpenTask.due_at, OpenTask.post_id.in_(visible))
        .order_by(OpenTask.closed_at.desc()).limit(LATE_ACTIONS_SHOWN))
    readable_files = visibility.file_clause(s, actor)
    readable_receipts = visibility.receipt_clause(s, actor)
    # None: a role that reads everything
    if readable_files is not None and readable_receipts is not None:
        query = query.where(or_(
            and_(OpenTask.file_id.is_not(None), readable_files),
            and_(OpenTask.receipt_id.is_not(None), readable_receipts)))
    rows = s.execute(query).all()
    return [{"task_id": t.id, "kind": t.kind, "file_id": t.file_id, "receipt_id": t.receipt_id,
             "number": file_no or diary_no, "step": t.name, "post": code, "by": username,
             "action": t.action, "due_at": iso(t.due_at), "acted_at": iso(t.closed_at),
             "late_by_hours": _hours_late(t),
             "reason": t.reason}
            for t, username, code, file_no, diary_no in rows]


def _hours_late(task: OpenTask) -> float | None:
    if task.closed_at is None or task.due_at is None:  # the query selects only late ones
        return None
    return round((task.closed_at - task.due_at) / timedelta(hours=1), 2)


def _mean_epoch(s: Session, column: Any) -> Any:
    """The mean of a timestamp column in seconds since the epoch (UTC)."""
    if s.get_bind().dialect.name == "sqlite":
        return func.avg((func.julianday(column) - 2440587.5) * 86400.0)
    return func.avg(func.extract("epoch", column))


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's min() hands back the stored text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
