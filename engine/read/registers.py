"""The office's registers, limited to what the reader may read: the diary register
(receipts diarised in a date range), the dispatch register (letters issued in a date
range) and one file's movement register. Each row is plain data; the web layer renders a
page, a CSV and a PDF from the same rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain import org, visibility
from engine.errors import InvalidInput
from engine.read import views
from engine.store.models import Dispatch, File, Movement, Post, Receipt, User

MAX_ROWS = 5000
MAX_DAYS = 366


def date_range(start: str | None, end: str | None) -> tuple[date, date]:
    """A range of office days (default: the last 30 days up to today)."""
    today = org.office_today()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=30)
    except ValueError:
        raise InvalidInput("from: dates as YYYY-MM-DD") from None
    if first > last:
        raise InvalidInput("from: the range starts after it ends")
    if (last - first).days > MAX_DAYS:
        raise InvalidInput(f"to: at most {MAX_DAYS} days at a time")
    return first, last


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    tz = org.OFFICE_TZ
    return (datetime.combine(first, time.min, tz),
            datetime.combine(last + timedelta(days=1), time.min, tz))


def diary(session: Session, actor: User, first: date, last: date) -> list[dict[str, Any]]:
    start, end = _bounds(first, last)
    query = select(Receipt).where(Receipt.received_at >= start, Receipt.received_at < end) \
        .order_by(Receipt.received_at, Receipt.id).limit(MAX_ROWS)
    readable = visibility.receipt_clause(session, actor)
    if readable is not None:
        query = query.where(readable)
    names = views.Names(session)
    rows = []
    for r in session.scalars(query):
        holder = names.post(r.holder_post_id)
        rows.append({
            "id": r.id, "diary_no": r.diary_no, "received_at": views.iso(r.received_at),
            "sender": r.sender, "subject": r.subject, "letter_ref": r.letter_ref,
            "letter_date": r.letter_date, "mode": r.mode, "grading": r.grading,
            "status": r.status, "with": holder["title"] if holder else None,
            "file_id": r.file_id})
    return rows


def dispatches(session: Session, actor: User, first: date, last: date) -> list[dict[str, Any]]:
    query = select(Dispatch, File).join(File, File.id == Dispatch.file_id).where(
        Dispatch.dispatch_date >= first.isoformat(), Dispatch.dispatch_date <= last.isoformat()
    ).order_by(Dispatch.dispatch_date, Dispatch.id).limit(MAX_ROWS)
    readable = visibility.file_clause(session, actor)
    if readable is not None:
        query = query.where(readable)
    names = views.Names(session)
    return [{**_dispatch(d, names), "file_id": f.id, "file_no": f.file_no,
             "file_subject": f.subject} for d, f in session.execute(query)]


def _dispatch(d: Dispatch, names: views.Names) -> dict[str, Any]:
    from engine.read.file_views import dispatch_row
    return dispatch_row(d, names)


def movements(session: Session, file: File) -> list[dict[str, Any]]:
    """Every movement of one file, oldest first, with post titles and who sent it."""
    posts = {p.id: p for p in session.scalars(select(Post))}
    users = dict(session.execute(select(User.id, User.full_name)).all())
    rows = []
    for n, m in enumerate(session.scalars(select(Movement).where(Movement.file_id == file.id)
                                          .order_by(Movement.sent_at, Movement.id)), start=1):
        rows.append({
            "n": n, "sent_at": views.iso(m.sent_at),
            "from": posts[m.from_post_id].title if m.from_post_id in posts else None,
            "to": posts[m.to_post_id].title if m.to_post_id in posts else None,
            "action": m.action, "remark": m.remark,
            "sent_by": users.get(m.sent_by) if m.sent_by is not None else None,
            "opened_at": views.iso(m.opened_at)})
    return rows
