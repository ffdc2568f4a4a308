"""Sanchika's service layer: every public method is one action in one transaction.

The web layer and the CLI call these; they never touch the engine internals directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from engine.audit import history
from engine.bpm import script_pool
from engine.bpm.definitions import Definitions
from engine.bpm.handler_api import HandlerRegistry
from engine.bpm.runtime import Runtime, StepResult
from engine.commands.access import AccessServices
from engine.commands.admin import AdminServices
from engine.commands.audit import AuditServices
from engine.commands.dak import DakServices
from engine.commands.desk import DeskServices
from engine.commands.email_dak import EmailDakServices
from engine.commands.exchange import ExchangeServices
from engine.commands.executor import Executor, context_of, scripts_outside_the_lock
from engine.commands.files import FileServices
from engine.commands.monitor import MonitorServices
from engine.commands.ocr import OcrServices
from engine.commands.people import PeopleServices
from engine.commands.retention import RetentionServices
from engine.commands.review import ReviewServices
from engine.commands.sessions import SessionServices
from engine.commands.sla import SlaServices
from engine.commands.ui import UiServices
from engine.commands.unlock import UnlockServices
from engine.commands.versions import VersionServices
from engine.config import Settings
from engine.domain import files as files_mod
from engine.domain import holding, org, receipts, uploads, visibility, yellow_notes
from engine.domain.handler_context import OfficeContext
from engine.errors import ActionNotAllowed, Conflict, Forbidden, InvalidInput, NotFound
from engine.notify import notices, outbox
from engine.read import views
from engine.search import index as search
from engine.sla.policy import SlaPolicy, limit_for
from engine.store import schema
from engine.store.db import Database, get_or_404
from engine.store.models import (
    Document,
    File,
    Instance,
    Movement,
    OpenTask,
    Post,
    ProcessDefinition,
    Receipt,
    User,
    utcnow,
)

PROCESS_DIR = Path(__file__).resolve().parent.parent / "processes"
FILE_PROCESS = "file_approval"
DAK_PROCESS = "dak_receipt"
SECTION_OFFICER_RANK = 2
DEPLOY_ROLES = ("designer", "admin")
_MOVEMENTS = cast(Table, Movement.__table__)
_INBOX_COLUMNS = (OpenTask.id, OpenTask.kind, OpenTask.name, OpenTask.task_spec,
                  OpenTask.received_at, OpenTask.due_at, OpenTask.parked, OpenTask.priority,
                  OpenTask.actions, OpenTask.file_id, OpenTask.receipt_id, OpenTask.post_id,
                  File.file_no, File.subject, Receipt.diary_no, Receipt.subject)


@scripts_outside_the_lock
class Sanchika(DakServices, PeopleServices, AccessServices, FileServices, SlaServices,
               AuditServices, UiServices, SessionServices, DeskServices,
               EmailDakServices, OcrServices, ExchangeServices, AdminServices,
               MonitorServices, ReviewServices, VersionServices, UnlockServices,
               RetentionServices):
    def __init__(self, settings: Settings, handlers: HandlerRegistry):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.handlers = handlers
        self.definitions = Definitions(handlers.names(), settings.max_bpmn_bytes, PROCESS_DIR)
        script_pool.configure(script_pool.ScriptLimits(
            cpu_seconds=settings.script_cpu_seconds, memory_mb=settings.script_memory_mb,
            workers=settings.script_workers))
        self.runtime = Runtime(self.definitions, handlers)
        self.runtime.sla = SlaPolicy(settings.sla_default)
        self.runtime.handler_context = OfficeContext
        self.executor = Executor(self.db, [search.SearchIndexer])

    # ------------------------------------------------------------ set-up

    def init(self) -> list[tuple[str, int, bool]]:
        """Create/upgrade the schema and deploy the shipped processes."""
        schema.upgrade(self.db.write_engine)
        deployed = []
        for path in sorted(PROCESS_DIR.glob("*.bpmn")):
            with self.command() as s:
                definition, created = self.definitions.deploy(s, path.read_bytes(), "init")
                if created:
                    self._start_scheduled(s, definition)
                deployed.append((definition.process_id, definition.version, created))
        return deployed

    @staticmethod
    def may_deploy(actor: User) -> bool:
        """Whether the actor may deploy process versions (pages offer the button)."""
        return actor.role in DEPLOY_ROLES

    def deploy(self, xml: bytes, actor: User | None) -> tuple[ProcessDefinition, bool]:
        if actor is not None:
            org.require_role(actor, *DEPLOY_ROLES)
        with self.command() as s:
            definition, created = self.definitions.deploy(
                s, xml, actor.username if actor else "cli")
            if created:
                self._start_scheduled(s, definition)
            s.expunge(definition)
            return definition, created

    # ------------------------------------------------------------ people

    def authenticate(self, username: str, password: str) -> User:
        with self.db.reader() as s:
            return org.authenticate(s, username, password)

    def user(self, user_id: int) -> User | None:
        with self.db.reader() as s:
            return s.get(User, user_id)

    # ------------------------------------------------------------ dak

    def diarise(self, actor: User, fields: dict[str, Any], pdf: bytes | None = None,
                pdf_name: str | None = None) -> dict[str, Any]:
        org.require_post(actor)
        with self.command(actor) as s:
            fields = {k: v for k, v in fields.items() if k not in ("pdf_sha256", "pdf_name")}
            if pdf is not None:
                document = uploads.store_pdf(s, self.settings.data_dir,
                                             self.settings.max_upload_bytes, pdf, pdf_name, actor)
                fields["pdf_sha256"] = document.sha256
                fields["pdf_name"] = uploads.upload_name(pdf_name)
            receipt = receipts.diarise(s, actor, fields)
            instance, started = self.runtime.start(
                s, DAK_PROCESS,
                {"receipt_id": receipt.id, "holder_post": actor.post_id,
                 "sla_duration": limit_for("Normal", self.settings.sla_default)},
                actor=actor, subject_kind="receipt", subject_id=receipt.id)
            receipt.instance_id = instance.id
            s.flush()
            return views.receipt_view(s, receipt, fresh=started.opened)

    def receipt(self, actor: User, receipt_id: int) -> dict[str, Any]:
        with self.db.reader() as s:
            receipt = receipts.get_receipt(s, receipt_id)
            visibility.require_read_receipt(s, actor, receipt)
            view = views.receipt_view(s, receipt)
            if receipt.instance_id:
                view["history"] = [views.history_row(e)
                                   for e in history.events(s, receipt.instance_id)]
            return view

    def receipt_pdf(self, actor: User, receipt_id: int) -> tuple[bytes, str]:
        """The receipt's scanned letter, for those allowed to read the receipt."""
        with self.db.reader() as s:
            receipt = receipts.get_receipt(s, receipt_id)
            visibility.require_read_receipt(s, actor, receipt)
            if not receipt.pdf_sha256:
                raise NotFound(f"receipt {receipt.diary_no} has no scanned letter")
            document = get_or_404(s, Document, receipt.pdf_sha256, "document")
            return (uploads.read(self.settings.data_dir, document),
                    receipt.pdf_name or document.filename)

    # ------------------------------------------------------------ files

    def open_file(self, actor: User, subject: str, head: str, priority: str | None = None,
                  receipt_id: int | None = None, kind: str = "electronic") -> dict[str, Any]:
        org.require_post(actor)
        with self.command(actor) as s:
            # with a receipt, the file's rows go out with the action's flush
            file = self._open_file(s, actor, subject, head, priority or "Normal", kind,
                                   flush=receipt_id is None)
            if receipt_id is not None:
                task = _load_receipt_task(s, receipt_id)
                if task is None:
                    raise Conflict(f"receipt {receipt_id} is not open for action")
                self._act(s, actor, task, {"action": "put_in_file", "file_id": file.id})
            return views.file_view(s, file, actor, fresh=True)

    def _open_file(self, s: Session, actor: User, subject: str, head: str, priority: str,
                   kind: str = "electronic", flush: bool = True) -> File:
        if priority != "Normal":
            self._may_set_priority(s, actor)
        file = self._start_file(s, actor, files_mod.new_file(s, actor, subject, head, priority,
                                                             kind), flush=flush, fresh=True)
        return file

    def _start_file(self, s: Session, actor: User, file: File, post_id: int | None = None,
                    flush: bool = True, fresh: bool = False) -> File:
        """A file's process starts with noting at the actor's post (or the one given)."""
        priority = file.priority
        post_id = post_id or actor.post_id
        instance, result = self.runtime.start(
            s, FILE_PROCESS,
            {"file_id": file.id, "creator_post": file.creator_post_id, "holder_post": post_id,
             "to_approver": False, "sla_duration": limit_for(priority, self.settings.sla_default)},
            actor=actor, subject_kind="file", subject_id=file.id)
        file.instance_id = instance.id
        self._set_priority(result, priority)
        if fresh:
            files_mod.mark_fresh(s, file, result.opened)
        if flush:
            s.flush()
        return file

    def file(self, actor: User, file_id: int) -> dict[str, Any]:
        """A file as the actor may see it. A read: it records nothing (the web layer calls
        `record_opened` when an officer opens the file)."""
        with self.db.reader(autocommit=True) as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            return views.file_view(s, file, actor)

    def find_files(self, actor: User, file_no: str | None = None, q: str | None = None,
                   holder: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        with self.db.reader(autocommit=True) as s:
            query = select(File).order_by(File.id.desc()).limit(min(max(limit, 1), 200))
            if file_no:
                query = query.where(File.file_no == file_no)
            if q:
                found = [d.item_id for d in search.matching(s, actor, q, "file", 200)]
                query = query.where(File.id.in_(found))
            if holder:
                post = org.resolve_post_info(s, holder, "holder")
                query = query.where(File.holder_post_id == post.id)
            readable = visibility.file_clause(s, actor)
            if readable is not None:
                query = query.where(readable)
            names = views.Names(s)
            return [views.file_summary(f, names) for f in s.scalars(query)]

    def add_note(self, actor: User, file_id: int, text: str,
                 ref_correspondence_id: int | None = None) -> dict[str, Any]:
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            note = files_mod.add_note(s, file, actor, text)
            self._record_note(s, file, note, actor)
            out = {"file_id": file.id, "para_no": note.para_no, "text": note.text}
            if ref_correspondence_id is not None:
                note.ref_correspondence_id = yellow_notes.check_reference(
                    s, file, ref_correspondence_id)
                out["ref_correspondence_id"] = note.ref_correspondence_id
            return out

    def track(self, actor: User, file_id: int) -> dict[str, Any]:
        with self.db.reader(autocommit=True) as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            return views.track_view(s, file)

    def file_history(self, actor: User, file_id: int, limit: int | None = None,
                     offset: int = 0) -> list[dict[str, Any]]:
        with self.db.reader(autocommit=True) as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            # every process the file went through (e.g. reopened: the reopening request
            # and the new noting), each chain in order; a page of them when limited
            # (the instances as a subquery: one statement, not two)
            instances = select(Instance.id).where(
                Instance.subject_kind == "file", Instance.subject_id == file.id)
            return [views.history_row(e)
                    for e in history.events_of(s, instances, limit, offset)]

    # ------------------------------------------------------------ inbox and actions

    def inbox(self, actor: User, limit: int | None = None, offset: int = 0
              ) -> list[dict[str, Any]]:
        """Open tasks of every post the user holds now (substantive and additional
        charges), soonest due first; each row names its post. `limit`/`offset`: a page."""
        with self.db.reader(autocommit=True) as s:
            posts = org.acting_post_ids(s, actor)
            if not posts:
                return []
            # one statement of columns: the page walks ix_open_tasks_inbox (post_id,
            # due_at) in order and stops after `limit` rows, each item's number and
            # subject joined in. `due_at NULLS LAST` is the order the index gives
            # (ordering by `due_at IS NULL` first sorted every open task of the post:
            # 150 ms for the heaviest post at a million files)
            rows = s.execute(select(*_INBOX_COLUMNS)
                             .outerjoin(File, File.id == OpenTask.file_id)
                             .outerjoin(Receipt, Receipt.id == OpenTask.receipt_id)
                             .where(OpenTask.post_id.in_(posts), OpenTask.closed_at.is_(None),
                                    OpenTask.parked.is_(False))
                             .order_by(OpenTask.due_at.asc().nulls_last(), OpenTask.id)
                             .offset(offset).limit(limit)).all()
            now = utcnow()
            names = views.Names(s)
            return [views.inbox_row(r, now, names) for r in rows]

    def act(self, actor: User, task_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with self.command(actor) as s:
            task = _load_task_by_id(s, task_id)
            if task is None:
                raise NotFound(f"no task with id {task_id}")
            outcome = self._act(s, actor, task, body)
            return outcome

    def _act(self, s: Session, actor: User, task: OpenTask, body: dict[str, Any]
             ) -> dict[str, Any]:
        if task.closed_at is not None:
            raise Conflict("this task has already been acted on")
        if task.post_id not in org.acting_post_ids(s, actor):
            raise Forbidden("this task is not in your inbox: it is with post "
                            f"{org.post_info(s, task.post_id).code}, which you do not hold")
        action = str(body.get("action") or "")
        allowed = task.actions.split(",")
        if action not in allowed:
            raise ActionNotAllowed(f"action: '{action}' is not allowed at '{task.name}'; "
                                   f"allowed: {', '.join(allowed)}")
        reason = (body.get("reason") or "").strip() or None
        if task.due_at is not None and task.due_at < utcnow() and not reason:
            raise ActionNotAllowed(
                "reason: this item is overdue; acting on it needs a recorded reason")
        remark = (body.get("remark") or "").strip() or None
        signed = action == "approve" and task.kind == "file"
        assertion = self._passkey_or_fallback(body.get("passkey")) if signed else None
        if assertion is not None and body.get("note"):
            raise InvalidInput("note: a passkey signs the file as it stands; add the note "
                               "first, then approve")
        data, to_post = self._action_data(s, actor, task, action, body)
        record = {"action": action, "to": to_post.code if to_post else None,
                  "remark": remark, "reason": reason,
                  "as_post": org.post_info(s, task.post_id).code,
                  **{k: v for k, v in data.items() if k in ("file_id", "record_category")}}
        record.update(self._receipt_extras(s, actor, task, action, body, to_post))
        if body.get("note") and task.kind == "file":
            note = files_mod.add_note(s, files_mod.get_file(s, task.file_id), actor, body["note"],
                                      flush=False)
            record["note"] = {"para_no": note.para_no, "text": note.text}
        result = self.runtime.complete(s, task, data, actor=actor, history_data=record)
        if signed:  # signed over the approved content
            self._sign_approval(s, actor, task, action, assertion)
        task.closed_by = actor.id
        task.action = action
        task.reason = reason
        self._after_step(s, actor, task, action, remark, result)
        self._after_receipt_step(s, task, body)
        self._after_file_action(s, actor, task, action, result)
        s.flush()
        return {"task_id": task.id, "action": action, "done": True,
                "next": [views.task_row(t) for t in result.opened],
                "completed": result.completed}

    def _action_data(self, s: Session, actor: User, task: OpenTask, action: str,  # noqa: C901
                     body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        data: dict[str, Any] = {"action": action}
        to_post: Any = None
        if action in ("forward", "submit"):
            if not body.get("to"):
                raise InvalidInput("to: required (a username or post code)")
            to_post = org.resolve_post_info(s, body["to"])
            if to_post.id == task.post_id:
                raise InvalidInput("to: the item is already with that post")
            if action == "submit" and not to_post.can_approve:
                raise InvalidInput(f"to: post {to_post.code} cannot approve")
        elif action == "return":
            to_post = self._previous_holder(s, task)
        elif action in ("approve", "reject"):
            post = org.post_info(s, task.post_id)
            if not post.can_approve:
                raise Forbidden(f"post {post.code} has no authority to {action}")
        elif action == "close" and task.kind == "file":
            category = body.get("record_category")
            if not category:
                raise InvalidInput("record_category: required to close a file "
                                   "(A, B or C: how long its record is kept)")
            files_mod.close(files_mod.get_file(s, task.file_id), category)
            data["record_category"] = category
        elif action == "close":
            if not (body.get("remark") or "").strip():
                raise InvalidInput("remark: closing a receipt needs a remark")
            receipt = receipts.get_receipt(s, task.receipt_id)
            receipt.status = "closed"
            receipt.remark = body["remark"].strip()
            receipt.holder_post_id = None
        elif action == "put_in_file":
            data["file_id"] = self._target_file(s, actor, body).id
        if to_post is not None:
            data["holder_post"] = to_post.id
            data["to_approver"] = bool(to_post.can_approve)
        return data, to_post

    def _target_file(self, s: Session, actor: User, body: dict[str, Any]) -> File:
        if body.get("file_id"):
            file = files_mod.get_file(s, int(body["file_id"]))
            holding.require_holder_or_creator(s, actor, file, "have a receipt put up in it")
            if file.locked or file.status == "closed":
                raise Conflict(f"file {file.file_no} is {file.status}; put the receipt elsewhere")
            return file
        if body.get("subject") and body.get("head"):
            return self._open_file(s, actor, body["subject"], body["head"],
                                   body.get("priority") or "Normal")
        raise InvalidInput("file_id: give an existing file_id, or subject and head for a new file")

    def _previous_holder(self, s: Session, task: OpenTask) -> Post:
        column = Movement.file_id if task.kind == "file" else Movement.receipt_id
        subject_id = task.file_id if task.kind == "file" else task.receipt_id
        last_in = s.scalar(select(Movement).where(
            column == subject_id, Movement.to_post_id == task.post_id,
            Movement.from_post_id.is_not(None), Movement.action != "pulled_back")
            .order_by(Movement.id.desc()).limit(1))
        if last_in is None:
            raise ActionNotAllowed("action: nobody sent this item to you, so it cannot be returned")
        return get_or_404(s, Post, last_in.from_post_id)

    def _after_step(self, s: Session, actor: User, task: OpenTask, action: str,
                    remark: str | None, result: StepResult) -> None:
        """Holder, movements and sealed notes follow where the process put the item."""
        if task.kind == "file":
            subject: Any = files_mod.get_file(s, task.file_id)
            self._set_priority(result, subject.priority)
        else:
            subject = receipts.get_receipt(s, task.receipt_id)
        new_post = result.opened[0].post_id if result.opened else None
        if new_post is None or new_post == subject.holder_post_id:
            return
        now = utcnow()
        moved = {"file_id": task.file_id, "receipt_id": task.receipt_id,
                 "from_post_id": task.post_id, "to_post_id": new_post, "action": action,
                 "remark": remark, "sent_by": actor.id, "sent_at": now}
        ctx = context_of(s)
        if task.kind == "file" and ctx is not None:
            # a batched Core insert at the command's end: nothing reads a file's movement
            # back in the action (a receipt's is completed by engine/commands/dak.py)
            ctx.add_row(_MOVEMENTS, moved)
        else:
            s.add(Movement(**moved))
        if task.kind == "file":
            files_mod.seal_notes(s, subject)
        subject.holder_post_id = new_post
        subject.holder_since = now
        recipients = org.recipients_of(s, new_post)
        label = str(getattr(subject, "file_no", None) or getattr(subject, "diary_no", ""))
        notices.received(s, f"received:{task.kind}:{subject.id}:{result.opened[0].task_uuid}",
                         recipients, label=label, subject=subject.subject, by=actor.username,
                         action=action)

    @staticmethod
    def _set_priority(result: StepResult, priority: str) -> None:
        for row in result.opened:
            row.priority = priority

    # ------------------------------------------------------------ permissions

    def _may_set_priority(self, s: Session, actor: User) -> None:
        post = s.get(Post, actor.post_id)
        if post is None or post.rank < SECTION_OFFICER_RANK:
            raise Forbidden("priority: only a Section Officer or above sets a priority grading")

    # timers: fire_due_timers and warn_due_soon live in engine/commands/sla.py

    # ------------------------------------------------------------ read helpers

    def notifications(self, actor: User, limit: int = 50, offset: int = 0
                      ) -> list[dict[str, Any]]:
        with self.db.reader() as s:
            return [{"id": m.id, "subject": m.subject, "body": m.body,
                     "at": views.iso(m.created_at)}
                    for m in outbox.for_user(s, actor, limit, offset)]

    def definitions_list(self) -> list[dict[str, Any]]:
        with self.db.reader() as s:
            running = set(s.scalars(select(Instance.definition_id).where(
                Instance.status == "running").distinct()))
            rows = s.scalars(select(ProcessDefinition).order_by(
                ProcessDefinition.process_id, ProcessDefinition.version))
            return [{"process_id": d.process_id, "version": d.version,
                     "content_hash": d.content_hash, "deployed_at": views.iso(d.deployed_at),
                     "deployed_by": d.deployed_by, "has_running": d.id in running,
                     "current": d.is_current, "suspended": d.suspended}
                    for d in rows]



_TASK_WITH_SUBJECT = (select(OpenTask, Instance, File, Receipt)
                      .outerjoin(Instance, Instance.id == OpenTask.instance_id)
                      .outerjoin(File, File.id == OpenTask.file_id)
                      .outerjoin(Receipt, Receipt.id == OpenTask.receipt_id))
# built once: every action reads its task this way (no statement building per call)
_TASK_BY_ID = _TASK_WITH_SUBJECT.where(OpenTask.id == bindparam("task_id")).limit(1)


_OPEN_TASK_OF_RECEIPT = _TASK_WITH_SUBJECT.where(
    OpenTask.receipt_id == bindparam("receipt_id"), OpenTask.closed_at.is_(None)).limit(1)


def _load_task_by_id(s: Session, task_id: int) -> OpenTask | None:
    """The task with its instance and file (or receipt) in one query: the command keeps
    them, so the steps after this read none of them again."""
    row = s.execute(_TASK_BY_ID, {"task_id": task_id}).first()
    return None if row is None else row[0]


def _load_receipt_task(s: Session, receipt_id: int) -> OpenTask | None:
    """The receipt's open task, loaded as `_load_task_by_id` loads one."""
    row = s.execute(_OPEN_TASK_OF_RECEIPT, {"receipt_id": receipt_id}).first()
    return None if row is None else row[0]
