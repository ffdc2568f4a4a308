"""The officer's lists, like eOffice's: tabs (files, receipts) and views (inbox, created,
sent, parked, closed), each sorted by any column, filtered and paged in the database.

Every view is one SELECT of the same labelled columns; filters, order and LIMIT/OFFSET
apply to it as a subquery, so paging never loads more than a page. The inbox and parked
views start from open tasks of the actor's posts (index ix_open_tasks_post_open)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, null, select
from sqlalchemy.orm import Session, aliased

from engine.errors import InvalidInput
from engine.sla.policy import PRIORITIES
from engine.store.desk_models import ItemRead
from engine.store.models import File, Movement, OpenTask, Post, Receipt, User, utcnow

TABS = ("file", "receipt")
VIEWS = ("inbox", "created", "sent", "parked", "closed")
SORTS = ("number", "subject", "from", "priority", "due", "age")
PAGE_SIZE = 50
# most urgent first when sorted by priority ascending
PRIORITY_ORDER = {p: n for n, p in enumerate(reversed(PRIORITIES))}


@dataclass
class Query:
    tab: str = "file"
    view: str = "inbox"
    sort: str = "due"
    desc: bool = False
    page: int = 1
    priority: str | None = None
    overdue: bool = False
    sender: str | None = None  # a post code
    since: datetime | None = None
    until: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> Query:
        if self.tab not in TABS:
            raise InvalidInput(f"tab: one of {', '.join(TABS)}")
        if self.view not in VIEWS:
            raise InvalidInput(f"view: one of {', '.join(VIEWS)}")
        if self.sort not in SORTS:
            raise InvalidInput(f"sort: one of {', '.join(SORTS)}")
        if self.priority and self.priority not in PRIORITIES:
            raise InvalidInput(f"priority: one of {', '.join(PRIORITIES)}")
        self.page = max(1, int(self.page or 1))
        return self


def _item(tab: str) -> tuple[Any, Any, Any, Any]:
    """(model, id column of the task/movement, number column, subject column)."""
    if tab == "file":
        return File, OpenTask.file_id, File.file_no, File.subject
    return Receipt, OpenTask.receipt_id, Receipt.diary_no, Receipt.subject


def _task_view(q: Query, posts: list[int]) -> Select:
    """Inbox and parked: open tasks of my posts, with who sent each item here and when."""
    model, task_item, number, subject = _item(q.tab)
    inner = aliased(Movement)
    item_col = inner.file_id if q.tab == "file" else inner.receipt_id
    last_in = select(func.max(inner.id)).where(
        item_col == task_item, inner.to_post_id == OpenTask.post_id) \
        .correlate(OpenTask).scalar_subquery()
    mv, fp, fu = aliased(Movement), aliased(Post), aliased(User)
    external = Receipt.sender if q.tab == "receipt" else null()
    return (select(
        OpenTask.id.label("task_id"), task_item.label("item_id"), number.label("number"),
        subject.label("subject"), fp.title.label("from_title"), fp.code.label("from_code"),
        func.coalesce(fu.full_name, external).label("from_user"),
        func.coalesce(mv.sent_at, OpenTask.received_at).label("from_at"),
        OpenTask.priority.label("priority"), OpenTask.due_at.label("due_at"),
        OpenTask.received_at.label("since"), model.status.label("status"),
        OpenTask.name.label("step"))
        .join(model, model.id == task_item)
        .outerjoin(mv, mv.id == last_in)
        .outerjoin(fp, fp.id == mv.from_post_id)
        .outerjoin(fu, fu.id == mv.sent_by)
        .where(OpenTask.post_id.in_(posts), OpenTask.closed_at.is_(None),
               OpenTask.kind == q.tab, OpenTask.parked.is_(q.view == "parked")))


def _created_view(q: Query, posts: list[int]) -> Select:
    model, _, number, subject = _item(q.tab)
    creator = File.creator_post_id if q.tab == "file" else Receipt.diarised_post_id
    by = File.created_by if q.tab == "file" else Receipt.diarised_by
    at = File.created_at if q.tab == "file" else Receipt.received_at
    prio = File.priority if q.tab == "file" else null()
    fp, fu = aliased(Post), aliased(User)
    return (select(
        literal(None).label("task_id"), model.id.label("item_id"), number.label("number"),
        subject.label("subject"), fp.title.label("from_title"), fp.code.label("from_code"),
        fu.full_name.label("from_user"), at.label("from_at"), prio.label("priority"),
        null().label("due_at"), at.label("since"), model.status.label("status"),
        null().label("step"))
        .join(fp, fp.id == creator).join(fu, fu.id == by)
        .where(creator.in_(posts)))


def _sent_view(q: Query, posts: list[int]) -> Select:
    """Every movement out of my posts: 'from' shows where it went."""
    model, _, number, subject = _item(q.tab)
    item = Movement.file_id if q.tab == "file" else Movement.receipt_id
    prio = File.priority if q.tab == "file" else null()
    tp, fu = aliased(Post), aliased(User)
    holder = select(User.full_name).where(User.post_id == tp.id, User.active) \
        .order_by(User.id).limit(1).correlate(tp).scalar_subquery()
    return (select(
        literal(None).label("task_id"), model.id.label("item_id"), number.label("number"),
        subject.label("subject"), tp.title.label("from_title"), tp.code.label("from_code"),
        func.coalesce(holder, fu.full_name).label("from_user"),
        Movement.sent_at.label("from_at"), prio.label("priority"), null().label("due_at"),
        Movement.sent_at.label("since"), model.status.label("status"),
        Movement.action.label("step"))
        .join(model, model.id == item).join(tp, tp.id == Movement.to_post_id)
        .outerjoin(fu, fu.id == Movement.sent_by)
        .where(Movement.from_post_id.in_(posts), item.is_not(None)))


def _closed_view(q: Query, posts: list[int]) -> Select:
    """Items closed at my posts (the closing task), newest first by default."""
    model, task_item, number, subject = _item(q.tab)
    fp, fu = aliased(Post), aliased(User)
    return (select(
        OpenTask.id.label("task_id"), task_item.label("item_id"), number.label("number"),
        subject.label("subject"), fp.title.label("from_title"), fp.code.label("from_code"),
        fu.full_name.label("from_user"), OpenTask.closed_at.label("from_at"),
        OpenTask.priority.label("priority"), null().label("due_at"),
        OpenTask.closed_at.label("since"), model.status.label("status"),
        OpenTask.name.label("step"))
        .join(model, model.id == task_item)
        .join(fp, fp.id == OpenTask.post_id).outerjoin(fu, fu.id == OpenTask.closed_by)
        .where(OpenTask.post_id.in_(posts), OpenTask.kind == q.tab,
               OpenTask.action == "close", model.status == "closed"))


VIEW_QUERIES = {"inbox": _task_view, "parked": _task_view, "created": _created_view,
                "sent": _sent_view, "closed": _closed_view}


def page(session: Session, actor: User, posts: list[int], q: Query) -> dict[str, Any]:
    q.check()
    now = utcnow()
    if not posts:
        return {"rows": [], "total": 0, "page": 1, "pages": 1, "page_size": PAGE_SIZE}
    sq = VIEW_QUERIES[q.view](q, posts).subquery()
    where = []
    if q.priority:
        where.append(sq.c.priority == q.priority)
    if q.overdue:
        where.append(and_(sq.c.due_at.is_not(None), sq.c.due_at < now))
    if q.sender:
        where.append(sq.c.from_code == q.sender)
    if q.since:
        where.append(sq.c.since >= q.since)
    if q.until:
        where.append(sq.c.since < q.until)
    total = session.scalar(select(func.count()).select_from(sq).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(q.page, pages)
    order = {
        "number": sq.c.number, "subject": sq.c.subject, "from": sq.c.from_title,
        "priority": case(PRIORITY_ORDER, value=sq.c.priority, else_=len(PRIORITY_ORDER)),
        "due": sq.c.due_at, "age": sq.c.since,
    }[q.sort]
    # 'age' ascending means youngest first (newest arrival); the rest read naturally
    ascending = not q.desc if q.sort != "age" else q.desc
    keys = [order.is_(None), order.asc() if ascending else order.desc()] \
        if q.sort == "due" else [order.asc() if ascending else order.desc()]
    rows = session.execute(
        select(sq).where(*where).order_by(*keys, sq.c.since.desc(), sq.c.item_id.desc())
        .limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)).mappings().all()
    reads = _reads(session, actor, q.tab, [r["item_id"] for r in rows])
    out = []
    for r in rows:
        seen = reads.get(r["item_id"])
        row = {**r, "kind": q.tab,
               "overdue": bool(r["due_at"] and r["due_at"] < now),
               "unread": q.view == "inbox" and (seen is None or seen < r["since"])}
        out.append(row)
    return {"rows": out, "total": total, "page": number, "pages": pages,
            "page_size": PAGE_SIZE}


def _reads(session: Session, actor: User, kind: str, ids: list[int]) -> dict[int, datetime]:
    if not ids:
        return {}
    return dict(session.execute(select(ItemRead.item_id, ItemRead.read_at).where(
        ItemRead.user_id == actor.id, ItemRead.kind == kind, ItemRead.item_id.in_(ids))).all())


def senders(session: Session, posts: list[int]) -> list[dict[str, Any]]:
    """Posts that sent something to my posts (the 'from' filter's choices)."""
    rows = session.execute(select(Post.code, Post.title).where(Post.id.in_(
        select(Movement.from_post_id).where(Movement.to_post_id.in_(posts)).distinct()))
        .order_by(Post.rank, Post.code)).all()
    return [{"code": c, "title": t} for c, t in rows]


def counts(session: Session, posts: list[int]) -> dict[str, int]:
    """Unparked open tasks per tab (the tab badges)."""
    if not posts:
        return {"file": 0, "receipt": 0}
    found = dict(session.execute(select(OpenTask.kind, func.count()).where(
        OpenTask.post_id.in_(posts), OpenTask.closed_at.is_(None),
        OpenTask.parked.is_(False)).group_by(OpenTask.kind)).all())
    return {tab: int(found.get(tab, 0)) for tab in TABS}
