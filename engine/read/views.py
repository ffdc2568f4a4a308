"""JSON-ready shapes of records, shared by the API and the CLI."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from engine.domain import files as files_mod
from engine.domain import org
from engine.errors import NotFound
from engine.read.file_views import document_link
from engine.read.file_views import extras as file_extras
from engine.store import config_cache
from engine.store.models import (
    Correspondence,
    File,
    HistoryEvent,
    Instance,
    Movement,
    Note,
    OpenTask,
    Post,
    Receipt,
    User,
    utcnow,
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Names:
    """Caches post and user names for one request, so a list does not query per row.
    They come from the configuration cache (engine/store/config_cache.py), in commands
    and reads alike, so neither an action's answer nor a page reads names row by row
    (a file's track named each post and user with a query of its own); a name the cache
    does not know yet (made in another process within its lifetime) is read directly."""

    def __init__(self, session: Session):
        self.session = session
        self._posts: dict[int, Any] = {}
        self._users: dict[int, User | None] = {}
        self._holders: dict[int, str | None] = {}
        self._cached = session.info.get(config_cache.INFO_KEY) is not None

    def post(self, post_id: int | None) -> dict[str, Any] | None:
        if post_id is None:
            return None
        if post_id not in self._posts:
            found = config_cache.get("posts", self.session, org.load_posts).get(post_id) \
                if self._cached else None
            self._posts[post_id] = found or self.session.get(Post, post_id)
        post = self._posts[post_id]
        return {"id": post.id, "code": post.code, "title": post.title} if post else None

    def known_post(self, post_id: int) -> dict[str, Any]:
        """Like `post`, for a post that must exist (NotFound otherwise)."""
        view = self.post(post_id)
        if view is None:
            raise NotFound(f"no post with id {post_id}")
        return view

    def user(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if self._cached:
            name = config_cache.get("usernames", self.session, _load_usernames).get(user_id)
            if name is not None:
                return name
        if user_id not in self._users:
            self._users[user_id] = self.session.get(User, user_id)
        user = self._users[user_id]
        return user.username if user else None

    def holder_user(self, post_id: int | None) -> str | None:
        if post_id is None:
            return None
        if self._cached:
            holders = config_cache.get("post_holders", self.session, _load_holders)
            if post_id in holders:
                return holders[post_id]
        if post_id not in self._holders:
            self._holders[post_id] = self.session.scalar(
                select(User.username).where(User.post_id == post_id, User.active).limit(1))
        return self._holders[post_id]


def _load_usernames(session: Session) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.username)).tuples().all())


def _load_holders(session: Session) -> dict[int, str]:
    """post id -> the username of its active holder (the first, by id)."""
    found: dict[int, str] = {}
    for post_id, username in session.execute(
            select(User.post_id, User.username).where(User.active, User.post_id.is_not(None))
            .order_by(User.id)):
        if post_id is not None:
            found.setdefault(post_id, username)
    return found


def task_row(task: OpenTask | SimpleNamespace, now: datetime | None = None) -> dict[str, Any]:
    """A task as the API shows it (an OpenTask, or its columns as attributes)."""
    now = now or utcnow()
    row: dict[str, Any] = {
        "id": task.id, "kind": task.kind, "name": task.name, "step": task.task_spec,
        "received_at": iso(task.received_at), "due_at": iso(task.due_at),
        # a parked item is set aside: it does not count as overdue
        "overdue": bool(task.due_at and task.due_at < now and not task.parked),
        "priority": task.priority, "actions": task.actions.split(","), "parked": task.parked,
    }
    row["file_id" if task.kind == "file" else "receipt_id"] = task.file_id or task.receipt_id
    return row


def inbox_row(r: Any, now: datetime, names: Names) -> dict[str, Any]:
    """An inbox row from the columns of `Sanchika.inbox`'s one statement: the task as
    `task_row` shows it, its post, and its own item's number and subject (a receipt's only
    while it is not yet in a file)."""
    (task_id, kind, name, spec, received_at, due_at, parked, priority, actions, file_id,
     receipt_id, post_id, file_no, file_subject, diary_no, receipt_subject) = r
    row = task_row(SimpleNamespace(
        id=task_id, kind=kind, name=name, task_spec=spec, received_at=received_at,
        due_at=due_at, parked=parked, priority=priority, actions=actions, file_id=file_id,
        receipt_id=receipt_id), now)
    if kind == "file":
        number, subject = (file_no, file_subject) if file_id else (None, None)
    else:
        number, subject = (diary_no, receipt_subject) if receipt_id and not file_id \
            else (None, None)
    row["post"] = names.post(post_id)
    row["number"], row["subject"] = number, subject
    return row


def movement_row(m: Movement, names: Names) -> dict[str, Any]:
    return {
        "from": names.post(m.from_post_id), "to": names.post(m.to_post_id),
        "to_user": names.holder_user(m.to_post_id), "action": m.action, "remark": m.remark,
        "sent_by": names.user(m.sent_by), "sent_at": iso(m.sent_at), "opened_at": iso(m.opened_at),
        "paper_location": m.paper_location,
    }


def movements(session: Session, *, file_id: int | None = None, receipt_id: int | None = None
              ) -> list[Movement]:
    query = select(Movement).order_by(Movement.sent_at, Movement.id)
    if file_id is not None:
        query = query.where(Movement.file_id == file_id)
    else:
        query = query.where(Movement.receipt_id == receipt_id)
    return list(session.scalars(query))


def open_tasks_of(session: Session, *, file_id: int | None = None,
                  receipt_id: int | None = None) -> list[OpenTask]:
    query = select(OpenTask).where(OpenTask.closed_at.is_(None))
    if file_id is not None:
        query = query.where(OpenTask.file_id == file_id)
    else:
        query = query.where(OpenTask.receipt_id == receipt_id)
    return list(session.scalars(query))


def receipt_summary(r: Receipt) -> dict[str, Any]:
    return {"id": r.id, "diary_no": r.diary_no, "subject": r.subject, "sender": r.sender}


def receipt_view(session: Session, r: Receipt, fresh: list[OpenTask] | None = None
                 ) -> dict[str, Any]:
    """`fresh`: the receipt was diarised in this same command, and these are its open
    tasks; it has no movements and no copies yet, so nothing is read for them."""
    names = Names(session)
    tasks = fresh if fresh is not None else open_tasks_of(session, receipt_id=r.id)
    moved = [] if fresh is not None else movements(session, receipt_id=r.id)
    copies: list[Receipt] = [] if fresh is not None else list(session.scalars(
        select(Receipt).where(Receipt.copy_of_id == r.id).order_by(Receipt.id)))
    return {
        **receipt_summary(r),
        "mode": r.mode, "category": r.category, "letter_ref": r.letter_ref,
        "letter_date": r.letter_date, "language": r.language, "grading": r.grading,
        "received_at": iso(r.received_at), "diarised_by": names.user(r.diarised_by),
        "status": r.status, "file_id": r.file_id, "remark": r.remark,
        "holder": names.post(r.holder_post_id), "holder_user": names.holder_user(r.holder_post_id),
        "holder_since": iso(r.holder_since),
        "pdf": f"/api/v1/receipts/{r.id}/pdf" if r.pdf_sha256 else None,
        "tasks": [task_row(t) for t in tasks],
        "movements": [movement_row(m, names) for m in moved],
        "instance_id": r.instance_id,
        "process_error": process_error(session, [r.instance_id] if r.instance_id else []),
        "form": r.form, "ack_no": r.ack_no, "paper_location": r.paper_location,
        "copy_of_id": r.copy_of_id, "from_receipt_id": r.from_receipt_id,
        "copies": [{**receipt_summary(c), "holder": names.post(c.holder_post_id),
                    "status": c.status}
                   for c in copies],
    }


def process_error(session: Session, instance_ids: list[int] | Select) -> str | None:
    """Why the item's process stopped, if its own script or expression failed (the
    runtime records `process_failed`); shown on the item's page. `instance_ids`: a list
    or a subquery of them."""
    if isinstance(instance_ids, list):
        # instances this session holds already (e.g. started by this command) answer
        # without a query when none has failed
        held = [session.identity_map.get(identity_key(Instance, i)) for i in instance_ids]
        if all(i is not None and i.status != "failed" for i in held):
            return None
    # only a 'failed' instance has that event (and it stays failed): a running one's
    # events are not read at all
    failed = select(Instance.id).where(Instance.id.in_(instance_ids),
                                       Instance.status == "failed")
    event = session.scalar(select(HistoryEvent).where(
        HistoryEvent.instance_id.in_(failed), HistoryEvent.kind == "process_failed")
        .order_by(HistoryEvent.id.desc()).limit(1))
    if event is None or not isinstance(event.data, dict):
        return None
    return str(event.data.get("message") or "") or None


def file_summary(f: File, names: Names) -> dict[str, Any]:
    return {
        "id": f.id, "file_no": f.file_no, "subject": f.subject, "status": f.status,
        "priority": f.priority, "locked": f.locked, "holder": names.post(f.holder_post_id),
        "holder_user": names.holder_user(f.holder_post_id), "created_at": iso(f.created_at),
    }


def file_view(session: Session, f: File, actor: User | None = None, fresh: bool = False
              ) -> dict[str, Any]:
    """`fresh`: the file was opened in this same command (see file_views.extras)."""
    names = Names(session)
    notes: list[Note] = [] if fresh else list(session.scalars(
        select(Note).where(Note.file_id == f.id).order_by(Note.para_no)))
    # a file opened in this command: its open tasks are the ones its start opened, its
    # correspondence what was put up in it since
    put_up = files_mod.fresh_correspondence(session, f) if fresh else None
    corr = put_up if put_up is not None else session.execute(
        select(Correspondence, Receipt).join(Receipt, Receipt.id == Correspondence.receipt_id)
        .where(Correspondence.file_id == f.id).order_by(Correspondence.id)).tuples().all()
    opened = files_mod.fresh_tasks(session, f) if fresh else None
    tasks = opened if opened is not None else open_tasks_of(session, file_id=f.id)
    return {
        **file_summary(f, names),
        "head": f.head, "year": f.year, "serial": f.serial,
        "creator": names.post(f.creator_post_id), "created_by": names.user(f.created_by),
        "holder_since": iso(f.holder_since), "locked_at": iso(f.locked_at),
        "approved_by": names.user(f.approved_by), "record_category": f.record_category,
        "closed_at": iso(f.closed_at),
        "notes": [{
            "para_no": n.para_no, "text": n.text, "author": names.user(n.author_id),
            "ref_correspondence_id": n.ref_correspondence_id,
            "post": names.post(n.author_post_id), "created_at": iso(n.created_at),
            "editable": not n.sealed and not f.locked,
        } for n in notes],
        "correspondence": [{**receipt_summary(r), "correspondence_id": c.id,
                            "receipt_id": r.id, "added_at": iso(c.added_at),
                            "pdf": f"/api/v1/receipts/{r.id}/pdf" if r.pdf_sha256 else None,
                            "document": document_link(r.pdf_sha256)} for c, r in corr],
        "tasks": [task_row(t) for t in tasks],
        "instance_id": f.instance_id,
        # and "process_error", read with the extras' probe (one statement fewer)
        **file_extras(session, f, actor, names, fresh),
    }


def track_view(session: Session, f: File) -> dict[str, Any]:
    names = Names(session)
    return {
        "file_no": f.file_no, "holder": names.post(f.holder_post_id),
        "holder_user": names.holder_user(f.holder_post_id), "since": iso(f.holder_since),
        "status": f.status,
        "movements": [movement_row(m, names) for m in movements(session, file_id=f.id)],
    }


def history_row(e: HistoryEvent) -> dict[str, Any]:
    return {
        "instance_id": e.instance_id, "seq": e.seq, "kind": e.kind, "at": iso(e.at),
        "actor": e.actor, "step": e.task_spec,
        "data": e.data, "prev_hash": e.prev_hash, "hash": e.hash,
    }
