"""The officer's desk beyond single actions (a mixin of `Sanchika`): the eOffice-style
lists, read marks, acting with a due date and priority, acting on several items at once
(each item its own transaction), the post directory, what a file page needs besides the
file (signatures, approval marks, closure, a pending reopening), notifications with links
and an unread count, My settings (password, language, channels) and the registers.

Each public method is one transaction, except the batch ones, which run one per item."""

from __future__ import annotations

import contextlib
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.commands.executor import CommandRunner
from engine.domain import files as files_mod
from engine.domain import holding, org, visibility
from engine.errors import InvalidInput, NotFound, SanchikaError
from engine.notify import messages
from engine.read import inbox as lists
from engine.read import registers, views
from engine.sla.policy import PRIORITIES
from engine.store.db import get_or_404
from engine.store.desk_models import ItemRead, UserSetting
from engine.store.models import (
    Department,
    File,
    HistoryEvent,
    Instance,
    Note,
    OpenTask,
    OutboxMessage,
    Post,
    Receipt,
    Section,
    User,
    utcnow,
)

if TYPE_CHECKING:
    from engine.store.db import Database

REOPEN_PROCESS = "file_reopen"
MAX_BATCH = 100


def due_at_end_of(day: str) -> datetime:
    """'YYYY-MM-DD' -> the end of that office day; it must not be past."""
    try:
        moment = datetime.combine(datetime.fromisoformat(day).date(), time(23, 59, 59),
                                  org.OFFICE_TZ)
    except ValueError:
        raise InvalidInput("due: a date as YYYY-MM-DD") from None
    if moment <= utcnow():
        raise InvalidInput("due: already past")
    return moment


class DeskServices(CommandRunner):
    db: Database

    if TYPE_CHECKING:  # provided by Sanchika
        def _act(self, s: Session, actor: User, task: OpenTask, body: dict[str, Any]
                 ) -> dict[str, Any]: ...
        def open_file(self, actor: User, subject: str, head: str,
                      priority: str | None = None) -> dict[str, Any]: ...

    # ------------------------------------------------------------ lists

    def desk_list(self, actor: User, query: lists.Query) -> dict[str, Any]:
        with self.db.reader() as s:
            posts = org.acting_post_ids(s, actor)
            out = lists.page(s, actor, posts, query)
            out["counts"] = lists.counts(s, posts)
            out["senders"] = lists.senders(s, posts) if posts else []
            return out

    def mark_read(self, actor: User, kind: str, item_id: int) -> None:
        """The user opened the item: its inbox row is no longer bold."""
        if kind not in lists.TABS:
            raise InvalidInput("kind: file or receipt")
        with self.command() as s:
            row = s.get(ItemRead, (actor.id, kind, item_id))
            if row is None:
                s.add(ItemRead(user_id=actor.id, kind=kind, item_id=item_id, read_at=utcnow()))
            else:
                row.read_at = utcnow()

    # ------------------------------------------------------------ acting

    def act_with(self, actor: User, task_id: int, body: dict[str, Any],
                 due: str | None = None, priority: str | None = None) -> dict[str, Any]:
        """One action (Sanchika.act) and, on the step it opens, a due date and priority
        set by the sender. Returns what the message after it names: the item, where it
        went and who holds that post."""
        if priority and priority not in PRIORITIES:
            raise InvalidInput(f"priority: one of {', '.join(PRIORITIES)}")
        due_at = due_at_end_of(due) if due else None
        with self.command() as s:
            task = s.get(OpenTask, task_id)
            if task is None:
                raise NotFound(f"no task with id {task_id}")
            kind, item_id = task.kind, task.file_id or task.receipt_id
            label = _label(s, kind, item_id)
            outcome = self._act(s, actor, task, body)
            opened = [get_or_404(s, OpenTask, t["id"]) for t in outcome["next"]]
            for row in opened:
                if due_at is not None:
                    row.due_at = due_at
                    row.warn_at = None
                if priority:
                    row.priority = priority
            to = opened[0].post_id if opened else None
            names = views.Names(s)
            file_id = get_or_404(s, Receipt, item_id).file_id if kind == "receipt" else None
            return {**outcome, "kind": kind, "item_id": item_id, "label": label,
                    "to": names.post(to),
                    "to_user": _full_name(s, to),
                    "file_id": file_id, "file_no": _label(s, "file", file_id)
                    if file_id else None}

    def act_many(self, actor: User, task_ids: list[int], body: dict[str, Any],
                 due: str | None = None, priority: str | None = None) -> dict[str, Any]:
        """The same action on several items, each in its own transaction with its own
        history: a refused item is named with the reason, the rest go through."""
        ids = list(dict.fromkeys(int(t) for t in task_ids))
        if not ids:
            raise InvalidInput("task_ids: choose at least one item")
        if len(ids) > MAX_BATCH:
            raise InvalidInput(f"task_ids: at most {MAX_BATCH} at once")
        done, refused = [], []
        for task_id in ids:
            try:
                done.append(self.act_with(actor, task_id, dict(body), due, priority))
            except SanchikaError as exc:
                refused.append({"task_id": task_id, "label": self._task_label(task_id),
                                "error": exc.message})
        return {"done": done, "refused": refused}

    def file_receipts(self, actor: User, task_ids: list[int], file_id: int | None = None,
                      subject: str | None = None, head: str | None = None,
                      priority: str | None = None) -> dict[str, Any]:
        """Put several receipts up in one file (an existing one, or a new one opened
        first); each receipt is its own transaction."""
        if not task_ids:
            raise InvalidInput("task_ids: choose at least one receipt")
        opened = None
        if not file_id:
            if not (subject and head):
                raise InvalidInput("file_id: choose a file, or give subject and head")
            opened = self.open_file(actor, subject, head, priority or None)
            file_id = opened["id"]
        out = self.act_many(actor, task_ids, {"action": "put_in_file", "file_id": file_id})
        out["file"] = {"id": file_id, "file_no": opened["file_no"] if opened else None}
        if opened is None:
            with self.db.reader() as s:
                out["file"]["file_no"] = _label(s, "file", file_id)
        return out

    def _task_label(self, task_id: int) -> str:
        with self.db.reader() as s:
            task = s.get(OpenTask, task_id)
            if task is None:
                return f"#{task_id}"
            return _label(s, task.kind, task.file_id or task.receipt_id) or f"#{task_id}"

    def my_tasks(self, actor: User, kind: str, item_id: int) -> list[dict[str, Any]]:
        """The item's open tasks at posts the actor acts for today (a reopening request
        waits at the approver while the file has no holder)."""
        with self.db.reader() as s:
            posts = org.acting_post_ids(s, actor)
            column = OpenTask.file_id if kind == "file" else OpenTask.receipt_id
            rows = s.scalars(select(OpenTask).where(
                column == item_id, OpenTask.closed_at.is_(None), OpenTask.post_id.in_(posts))
                .order_by(OpenTask.id))
            out = []
            for t in rows:
                row = views.task_row(t)
                instance = get_or_404(s, Instance, t.instance_id)
                row["process"] = instance.process_id
                out.append(row)
            return out

    # ------------------------------------------------------------ directory

    def post_directory(self, actor: User) -> list[dict[str, Any]]:
        """Every post, grouped by department and section, with its holder (the picker)."""
        with self.db.reader() as s:
            holders = dict(s.execute(select(User.post_id, User.full_name).where(
                User.post_id.is_not(None), User.active).order_by(User.id.desc())).all())
            rows = s.execute(select(Post, Section, Department)
                             .join(Section, Section.id == Post.section_id)
                             .join(Department, Department.id == Section.department_id)
                             .order_by(Department.code, Section.code, Post.rank.desc(),
                                       Post.code))
            groups: dict[tuple[str, str], dict[str, Any]] = {}
            for post, section, dept in rows:
                group = groups.setdefault((dept.code, section.code), {
                    "department": dept.name, "department_code": dept.code,
                    "section": section.name, "section_code": section.code, "posts": []})
                group["posts"].append({
                    "id": post.id, "code": post.code, "title": post.title, "rank": post.rank,
                    "can_approve": post.can_approve, "holder": holders.get(post.id),
                    "mine": post.id == actor.post_id})
            return list(groups.values())

    def user_directory(self, actor: User) -> list[dict[str, Any]]:
        """Active users (the read-grant picker)."""
        with self.db.reader() as s:
            rows = s.execute(select(User.username, User.full_name, Post.title)
                             .outerjoin(Post, Post.id == User.post_id)
                             .where(User.active).order_by(User.full_name))
            return [{"username": u, "full_name": n, "post": t} for u, n, t in rows]

    # ------------------------------------------------------------ the file page

    def file_desk(self, actor: User, file_id: int) -> dict[str, Any]:
        """What the file page shows besides the file view: who signed each note (name and
        designation), where approvals fall on the note sheet, how the file was closed, a
        pending reopening with its reason, and what the reader may do now."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            posts = org.acting_post_ids(s, actor)
            instances = list(s.scalars(select(Instance).where(
                Instance.subject_kind == "file", Instance.subject_id == file.id)
                .order_by(Instance.id)))
            events = list(s.scalars(select(HistoryEvent).where(
                HistoryEvent.instance_id.in_([i.id for i in instances]))
                .order_by(HistoryEvent.at, HistoryEvent.id))) if instances else []
            notes = list(s.execute(select(Note.para_no, Note.created_at, User.full_name,
                                          Post.title)
                                   .join(User, User.id == Note.author_id)
                                   .join(Post, Post.id == Note.author_post_id)
                                   .where(Note.file_id == file.id).order_by(Note.para_no)))
            signatures = {p: {"name": n, "designation": t} for p, _, n, t in notes}
            marks, closure = [], None
            full = _names_by_username(s)
            for e in events:
                action = (e.data or {}).get("action") if e.kind == "task_completed" else None
                if e.kind == "draft_approved":
                    action = "draft_approved"
                if action not in ("approve", "reject", "close", "draft_approved"):
                    continue
                after = max([p for p, at, _, _ in notes if at <= e.at], default=0)
                who = full.get(e.actor or "", (e.actor, None))
                mark = {"action": action, "by": who[0], "designation": who[1],
                        "at": views.iso(e.at), "after_para": after,
                        "remark": (e.data or {}).get("remark"),
                        "record_category": (e.data or {}).get("record_category"),
                        "draft_id": (e.data or {}).get("draft_id")}
                mark["signed"] = _how_signed(events, e, action)
                if action == "close":
                    closure = mark
                else:
                    marks.append(mark)
            reopen = None
            for instance in instances:
                if instance.process_id != REOPEN_PROCESS or instance.status != "running":
                    continue
                started = next((e for e in events if e.instance_id == instance.id
                                and e.kind == "instance_started"), None)
                data = (started.data or {}).get("data", {}) if started else {}
                who = full.get(started.actor or "", (started.actor, None)) if started \
                    else (None, None)
                reopen = {"reason": data.get("reason"), "by": who[0], "designation": who[1],
                          "at": views.iso(started.at) if started else None,
                          "approver": views.Names(s).post(data.get("approver_post"))}
            holder_is_me = file.holder_post_id in posts
            my_post = s.get(Post, actor.post_id) if actor.post_id else None
            pending = s.scalar(select(OpenTask.id).where(
                OpenTask.file_id == file.id, OpenTask.closed_at.is_(None)))
            return {
                "signatures": signatures, "marks": marks, "closure": closure,
                "reopen": reopen, "holder_is_me": holder_is_me,
                "is_creator": holding.acts_for(s, actor, file.creator_post_id),
                "can_request_reopen": file.status == "closed" and pending is None
                and holding.acts_for(s, actor, file.creator_post_id),
                "can_approve_drafts": holder_is_me and any(
                    p.can_approve for p in s.scalars(select(Post).where(Post.id.in_(posts)))),
                "can_set_priority": bool(my_post and my_post.rank >= 2)
                and file.status != "closed",
                "can_grant": actor.role == "admin" or (holder_is_me and bool(
                    file.holder_post_id
                    and get_or_404(s, Post, file.holder_post_id).rank >= 2)),
            }

    # ------------------------------------------------------------ notifications

    def notification_list(self, actor: User, language: str | None, limit: int = 50
                          ) -> dict[str, Any]:
        """In-app notifications, newest first, said in `language` (the reader's language
        of the day) with the item each is about; which of them are new."""
        with self.db.reader() as s:
            setting = s.get(UserSetting, actor.id)
            seen = setting.notifications_seen_id if setting else 0
            rows = s.scalars(select(OutboxMessage).where(
                OutboxMessage.user_id == actor.id, OutboxMessage.channel == "app")
                .order_by(OutboxMessage.id.desc()).limit(limit))
            out = []
            for m in rows:
                subject, body = m.subject, m.body
                if m.message_key in messages.CATALOGUE and m.params is not None:
                    # a stored text that no longer fits the catalogue is shown as written
                    with contextlib.suppress(KeyError, IndexError, ValueError):
                        subject, body = messages.render(m.message_key, language,
                                                        **dict(m.params))
                out.append({"id": m.id, "subject": subject, "body": body,
                            "at": views.iso(m.created_at), "kind": m.item_kind,
                            "item_id": m.item_id, "unread": m.id > seen})
            return {"messages": out, "unread": sum(1 for m in out if m["unread"])}

    def unread_notifications(self, actor: User) -> int:
        with self.db.reader() as s:
            row = s.get(UserSetting, actor.id)
            seen = row.notifications_seen_id if row else 0
            return int(s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.user_id == actor.id, OutboxMessage.channel == "app",
                OutboxMessage.id > seen)) or 0)

    def mark_notifications_seen(self, actor: User, up_to: int) -> None:
        with self.command() as s:
            row = _setting(s, actor.id)
            row.notifications_seen_id = max(row.notifications_seen_id or 0, int(up_to))

    # ------------------------------------------------------------ my settings

    def my_settings(self, actor: User) -> dict[str, Any]:
        with self.db.reader() as s:
            row = s.get(UserSetting, actor.id)
            user = get_or_404(s, User, actor.id)
            return {"language": user.language, "email": user.email, "phone": user.phone,
                    "notify_email": row.notify_email if row else True,
                    "notify_sms": row.notify_sms if row else True,
                    "password_changed_at": views.iso(row.password_changed_at) if row else None}

    def save_settings(self, actor: User, language: str, notify_email: bool,
                      notify_sms: bool) -> dict[str, Any]:
        if language not in messages.LANGUAGES:
            raise InvalidInput(f"language: one of {', '.join(messages.LANGUAGES)}")
        with self.command() as s:
            get_or_404(s, User, actor.id).language = language
            row = _setting(s, actor.id)
            row.notify_email, row.notify_sms = bool(notify_email), bool(notify_sms)
        return self.my_settings(actor)

    # ------------------------------------------------------------ registers

    def diary_register(self, actor: User, start: str | None = None, end: str | None = None
                       ) -> dict[str, Any]:
        first, last = registers.date_range(start, end)
        with self.db.reader() as s:
            return {"from": first.isoformat(), "to": last.isoformat(),
                    "rows": registers.diary(s, actor, first, last)}

    def dispatch_book(self, actor: User, start: str | None = None, end: str | None = None
                      ) -> dict[str, Any]:
        first, last = registers.date_range(start, end)
        with self.db.reader() as s:
            return {"from": first.isoformat(), "to": last.isoformat(),
                    "rows": registers.dispatches(s, actor, first, last)}

    def movement_register(self, actor: User, file_id: int) -> dict[str, Any]:
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            return {"file": {"id": file.id, "file_no": file.file_no, "subject": file.subject,
                             "status": file.status},
                    "rows": registers.movements(s, file)}


def _setting(s: Session, user_id: int) -> UserSetting:
    row = s.get(UserSetting, user_id)
    if row is None:
        row = UserSetting(user_id=user_id, notify_email=True, notify_sms=True,
                          notifications_seen_id=0)
        s.add(row)
    return row


def _label(s: Session, kind: str, item_id: int | None) -> str | None:
    if item_id is None:
        return None
    if kind == "file":
        return s.scalar(select(File.file_no).where(File.id == item_id))
    return s.scalar(select(Receipt.diary_no).where(Receipt.id == item_id))


def _full_name(s: Session, post_id: int | None) -> str | None:
    if post_id is None:
        return None
    return s.scalar(select(User.full_name).where(User.post_id == post_id, User.active)
                    .order_by(User.id).limit(1))


def _names_by_username(s: Session) -> dict[str, tuple[str, str | None]]:
    """username -> (full name, designation) for every user."""
    return {u: (n, t) for u, n, t in s.execute(
        select(User.username, User.full_name, Post.title)
        .outerjoin(Post, Post.id == User.post_id))}




def _how_signed(events: list[Any], event: Any, action: str) -> str | None:
    """How an approval was signed: "passkey" (on the officer's device) or "server" (the
    server-held key, the fallback); None when it was not signed (a reject, a close, a draft
    approved without a passkey)."""
    if action not in ("approve", "draft_approved"):
        return None
    for later in events:
        if later.instance_id != event.instance_id or later.id <= event.id:
            continue
        data = later.data or {}
        if action == "draft_approved":
            if later.kind == "approval_passkey" and data.get("subject") == "draft" \
                    and data.get("subject_id") == (event.data or {}).get("draft_id"):
                return "passkey"
            continue
        if later.kind == "approval_passkey" and data.get("subject") == "file":
            return "passkey"
        if later.kind == "approval_signed":
            return "server"
        if later.kind == "task_completed":
            break  # the next step: this approval was not signed
    return None
