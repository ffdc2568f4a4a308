"""Service actions on files in depth (mixed into `Sanchika`): yellow notes, opening and
pull back, sent items, subject heads, priority, drafts and dispatch, links, part files,
park, reopening, digitising and documents. Each public method is one transaction."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import history
from engine.bpm.runtime import StepResult
from engine.commands.passkeys import PasskeyServices
from engine.domain import (
    digitise,
    dispatch,
    drafts,
    holding,
    org,
    pullback,
    subject_heads,
    uploads,
    visibility,
    yellow_notes,
)
from engine.domain import files as files_mod
from engine.domain import links as file_links
from engine.errors import ActionNotAllowed, Conflict, Forbidden, InvalidInput, NotFound
from engine.notify import notices
from engine.read import file_views, views
from engine.sla.policy import PRIORITIES
from engine.store.db import get_or_404
from engine.store.models import (
    Department,
    Dispatch,
    Document,
    File,
    FileDocument,
    Instance,
    Movement,
    OpenTask,
    Post,
    Receipt,
    User,
    utcnow,
)

REOPEN_PROCESS = "file_reopen"
SHA256 = re.compile(r"^[0-9a-f]{64}$")

if TYPE_CHECKING:
    from engine.bpm.runtime import Runtime
    from engine.config import Settings
    from engine.store.db import Database


class FileServices(PasskeyServices):
    db: Database
    runtime: Runtime
    settings: Settings

    if TYPE_CHECKING:  # provided by Sanchika
        def _may_set_priority(self, s: Session, actor: User) -> None: ...
        def _start_file(self, s: Session, actor: User, file: File,
                        post_id: int | None = None) -> File: ...

    # ------------------------------------------------------------ yellow notes

    def add_draft_note(self, actor: User, file_id: int, text: str,
                       ref_correspondence_id: int | None = None) -> dict[str, Any]:
        """A private draft note of the holder (a yellow note)."""
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            return yellow_notes.row(
                yellow_notes.add(s, actor, file, text, ref_correspondence_id))

    def edit_draft_note(self, actor: User, note_id: int, text: str) -> dict[str, Any]:
        with self.command() as s:
            return yellow_notes.row(yellow_notes.edit(s, actor, note_id, text))

    def delete_draft_note(self, actor: User, note_id: int) -> None:
        with self.command() as s:
            yellow_notes.delete(s, actor, note_id)

    def draft_notes(self, actor: User, file_id: int) -> list[dict[str, Any]]:
        """The actor's own yellow notes in a file."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            return [yellow_notes.row(n) for n in yellow_notes.of_author(s, file.id, actor)]

    def confirm_note(self, actor: User, note_id: int) -> dict[str, Any]:
        """A yellow note becomes the next green note paragraph."""
        with self.command() as s:
            note = yellow_notes.confirm(s, actor, note_id)
            return {"file_id": note.file_id, "para_no": note.para_no, "text": note.text,
                    "ref_correspondence_id": note.ref_correspondence_id,
                    "confirmed_from": note_id}

    # ------------------------------------------------------------ opening, pull back

    def record_opened(self, actor: User, file_id: int) -> bool:
        """The actor opened the file (the web layer calls this where an officer opens it):
        the first opening by the recipient post's holder is recorded on the arrival, and
        from then on the sender can no longer pull the file back. True when recorded.
        Checked in a read first, so an ordinary opening writes nothing."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            movement_id = pullback.unopened_arrival(s, file, actor)
            post_id = file.holder_post_id
        if movement_id is None or post_id is None:
            return False
        with self.command(actor) as s:
            return pullback.record_opening(s, file_id, movement_id, post_id)

    def opened_file(self, actor: User, file_id: int) -> dict[str, Any]:
        """`record_opened`, then the file as the actor sees it: in one read when there is
        nothing to record (every opening but the recipient's first), so the file and the
        actor's right to read it are looked up once, not twice."""
        with self.db.reader(autocommit=True) as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            movement_id = pullback.unopened_arrival(s, file, actor)
            post_id = file.holder_post_id
            if movement_id is None or post_id is None:
                return views.file_view(s, file, actor)
        with self.command(actor) as s:
            pullback.record_opening(s, file_id, movement_id, post_id)
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            return views.file_view(s, file, actor)

    def pullback(self, actor: User, file_id: int) -> dict[str, Any]:
        """The last sender recalls a file its recipient has not opened. The recipient's
        step is completed by a system 'return' to the sender's post, at the same kind of
        step the sender had (noting or approval); history records who pulled it back."""
        org.require_post(actor)
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            movement, task = pullback.check(s, actor, file)
            sender_post = get_or_404(s, Post, movement.from_post_id)
            recipient_post = get_or_404(s, Post, movement.to_post_id)
            before = pullback.sender_step(s, file, sender_post.id)
            to_approver = bool(before is not None and "approve" in before.actions.split(","))
            record = {"action": "pullback", "by": actor.username, "from": recipient_post.code,
                      "to": sender_post.code, "movement_id": movement.id}
            result = self.runtime.complete(
                s, task, {"action": "return", "holder_post": sender_post.id,
                          "to_approver": to_approver}, actor=actor, history_data=record)
            back = [t for t in result.opened if t.post_id == sender_post.id]
            if not back:
                raise ActionNotAllowed(
                    f"the process of file {file.file_no} does not route a return back to "
                    f"{sender_post.code}; it cannot be pulled back")
            task.closed_by = actor.id
            task.action = pullback.PULLED_BACK
            now = utcnow()
            s.add(Movement(file_id=file.id, from_post_id=recipient_post.id,
                           to_post_id=sender_post.id, action=pullback.PULLED_BACK,
                           remark=f"pulled back by {actor.username}", sent_by=actor.id,
                           sent_at=now, opened_at=now))
            file.holder_post_id = sender_post.id
            file.holder_since = now
            self._file_moved(s, file)
            for row in result.opened:
                row.priority = file.priority
            instance = get_or_404(s, Instance, file.instance_id)
            history.append(s, instance, pullback.PULLED_BACK, actor=actor.username,
                           data=record)
            self._notify_pulled_back(s, actor, file, movement, sender_post, recipient_post)
            s.flush()
            return {"file_id": file.id, "file_no": file.file_no, "pulled_back": True,
                    "holder": views.Names(s).post(sender_post.id),
                    "task": views.task_row(back[0])}

    def _notify_pulled_back(self, s: Session, actor: User, file: Any, movement: Movement,
                            sender: Post, recipient: Post) -> None:
        key = f"pulled_back:file:{file.id}:{movement.id}"
        # the recipient is told at once on every channel they have (app, e-mail, SMS),
        # marked urgent, in their own language
        notices.notify_pulled_back(s, kind="file", subject_id=file.id,
                                   event_id=f"{movement.id}:recipient",
                                   recipients=org.holders_of(s, recipient.id),
                                   label=file.file_no, subject=file.subject, by=actor.username)
        notices.send(s, f"{key}:sender", org.holders_of(s, sender.id), "pulled_back_sender",
                     label=file.file_no, subject=file.subject, recipient=recipient.code,
                     by=actor.username, sender=sender.code)

    def sent_items(self, actor: User) -> list[dict[str, Any]]:
        """What the actor's post sent, newest first, and whether it can still be pulled
        back."""
        with self.db.reader() as s:
            return pullback.sent_items(s, actor)

    # ------------------------------------------------------------ hooks

    def _file_moved(self, s: Session, file: Any) -> None:
        """A file that moves is no longer parked."""
        file.parked_at = None
        file.parked_by = None

    def _after_file_action(self, s: Session, actor: User, task: OpenTask, action: str,
                           result: StepResult) -> None:
        """Runs after every task action (services._act)."""
        if task.kind != "file" or task.file_id is None:
            return
        file = files_mod.get_file(s, task.file_id)
        instance = get_or_404(s, Instance, task.instance_id)
        if instance.process_id == REOPEN_PROCESS and result.completed and file.status == "open":
            self._after_reopen(s, actor, file)
        if file.parked_at is not None:  # acting on a parked file takes it up again
            self._file_moved(s, file)

    # ------------------------------------------------------------ subject heads, priority

    def subject_heads(self, actor: User, department: str | None = None
                      ) -> list[dict[str, Any]]:
        with self.db.reader() as s:
            dept_id = subject_heads.department(s, department).id if department else None
            codes = {d.id: d.code for d in s.scalars(select(Department))}
            return [subject_heads.row(h, codes.get(h.department_id))
                    for h in subject_heads.listing(s, dept_id)]

    def add_subject_head(self, actor: User, department: str, code: str, title: str
                         ) -> dict[str, Any]:
        org.require_role(actor, "admin")
        with self.command() as s:
            dept = subject_heads.department(s, department)
            return subject_heads.row(subject_heads.add(s, dept, code, title), dept.code)

    def retire_subject_head(self, actor: User, head_id: int) -> dict[str, Any]:
        org.require_role(actor, "admin")
        with self.command() as s:
            head = subject_heads.retire(s, head_id)
            return subject_heads.row(head, get_or_404(s, Department, head.department_id).code)

    def change_priority(self, actor: User, file_id: int, priority: str) -> dict[str, Any]:
        """A Section Officer or above regrades a file; its open tasks follow."""
        org.require_post(actor)
        if priority not in PRIORITIES:
            raise InvalidInput(f"priority: must be one of {', '.join(PRIORITIES)}")
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            holding.require_holder(s, actor, file, "change its priority")
            self._may_set_priority(s, actor)
            if file.status == "closed":
                raise Conflict(f"file {file.file_no} is closed")
            previous = file.priority
            file.priority = priority
            tasks = views.open_tasks_of(s, file_id=file.id)
            for task in tasks:
                task.priority = priority
            if file.instance_id is not None and previous != priority:
                history.append(s, get_or_404(s, Instance, file.instance_id), "priority_changed",
                               actor=actor.username, data={"from": previous, "to": priority})
            s.flush()
            return {"file_id": file.id, "file_no": file.file_no, "priority": priority,
                    "previous": previous, "tasks": [views.task_row(t) for t in tasks]}

    # ------------------------------------------------------------ drafts for approval

    def _file_event(self, s: Session, file: Any, kind: str, actor: User,
                     data: dict[str, Any]) -> None:
        if file.instance_id is not None:
            history.append(s, get_or_404(s, Instance, file.instance_id), kind,
                           actor=actor.username, data=data)

    def create_draft(self, actor: User, file_id: int, subject: str, text: str,
                     addressee: str | None = None) -> dict[str, Any]:
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            draft = drafts.create(s, actor, file, subject, text, addressee)
            self._file_event(s, file, "draft_created", actor,
                              {"draft_id": draft.id, "subject": draft.subject})
            return file_views.draft_row(s, draft, views.Names(s))

    def edit_draft(self, actor: User, draft_id: int, text: str) -> dict[str, Any]:
        """Each edit is a new version."""
        with self.command() as s:
            draft = drafts.get(s, draft_id)
            file = files_mod.get_file(s, draft.file_id)
            version = drafts.edit(s, actor, draft, file, text)
            self._file_event(s, file, "draft_edited", actor,
                              {"draft_id": draft.id, "version": version.version})
            return file_views.draft_row(s, draft, views.Names(s))

    def draft(self, actor: User, draft_id: int) -> dict[str, Any]:
        """A draft with every version."""
        with self.db.reader() as s:
            draft = drafts.get(s, draft_id)
            file = files_mod.get_file(s, draft.file_id)
            visibility.require_read_file(s, actor, file)
            names = views.Names(s)
            return {**file_views.draft_row(s, draft, names),
                    "versions": [{"version": v.version, "text": v.text,
                                  "author": names.user(v.author_id),
                                  "created_at": views.iso(v.created_at)}
                                 for v in drafts.versions(s, draft)]}

    def draft_diff(self, actor: User, draft_id: int, a: int | None = None,
                   b: int | None = None) -> dict[str, Any]:
        """Differences between two versions (default: the last two)."""
        with self.db.reader() as s:
            draft = drafts.get(s, draft_id)
            visibility.require_read_file(s, actor, files_mod.get_file(s, draft.file_id))
            b = b or draft.version
            a = a or max(1, b - 1)
            return drafts.diff(s, draft, a, b)

    def approve_draft(self, actor: User, draft_id: int,
                      passkey: dict[str, Any] | None = None) -> dict[str, Any]:
        """With a `passkey` assertion (engine/audit/passkeys.py) the approval is signed on
        the officer's device; without one it is refused where passkeys are required."""
        assertion = self._passkey_or_fallback(passkey)
        with self.command() as s:
            draft = drafts.get(s, draft_id)
            file = files_mod.get_file(s, draft.file_id)
            drafts.approve(s, actor, draft, file)
            self._file_event(s, file, "draft_approved", actor,
                              {"draft_id": draft.id, "version": draft.version})
            if assertion is not None:  # recorded after the approval, as for a file
                instance = s.get(Instance, file.instance_id) if file.instance_id else None
                self._sign_with_passkey(s, actor, "draft", draft.id, "approve", assertion,
                                        instance)
            s.flush()
            return file_views.draft_row(s, draft, views.Names(s))

    def dispatch_draft(self, actor: User, draft_id: int, mode: str,
                       addressee: str | None = None, on: str | None = None) -> dict[str, Any]:
        """Issue an approved draft: an entry in the dispatch register."""
        with self.command() as s:
            draft = drafts.get(s, draft_id)
            file = files_mod.get_file(s, draft.file_id)
            row = dispatch.issue(s, actor, draft, file, mode, addressee, on)
            self._file_event(s, file, "dispatched", actor,
                              {"draft_id": draft.id, "dispatch_no": row.dispatch_no,
                               "mode": row.mode, "addressee": row.addressee})
            return file_views.dispatch_row(row, views.Names(s))

    def dispatch_register(self, actor: User, year: int | None = None) -> list[dict[str, Any]]:
        """The dispatch register of the actor's department (newest first)."""
        with self.db.reader() as s:
            query = select(Dispatch).join(File, File.id == Dispatch.file_id) \
                .order_by(Dispatch.id.desc()).limit(500)
            readable = visibility.file_clause(s, actor)
            if readable is not None:
                query = query.where(readable)
            if year:
                query = query.where(Dispatch.dispatch_date.like(f"{int(year)}-%"))
            names = views.Names(s)
            return [file_views.dispatch_row(d, names) for d in s.scalars(query)]

    # ------------------------------------------------------------ links, parts, park

    def link_files(self, actor: User, file_id: int, other_file_id: int) -> dict[str, Any]:
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            other = files_mod.get_file(s, int(other_file_id))
            visibility.require_read_file(s, actor, other)
            file_links.link(s, actor, file, other)
            self._file_event(s, file, "file_linked", actor, {"other": other.file_no})
            return {"file_id": file.id,
                    "links": [file_views.brief(f) for f in file_views.linked_files(s, file.id)]}

    def open_part_file(self, actor: User, file_id: int, subject: str | None = None
                       ) -> dict[str, Any]:
        """A part file of a main file, with its own process, noting at the actor's post."""
        org.require_post(actor)
        with self.command() as s:
            main = files_mod.get_file(s, file_id)
            holding.require_holder_or_creator(s, actor, main, "open a part file in it")
            part = self._start_file(s, actor, file_links.new_part(s, actor, main, subject))
            self._file_event(s, main, "part_file_opened", actor, {"part": part.file_no})
            return views.file_view(s, part, actor)

    def park_file(self, actor: User, file_id: int) -> dict[str, Any]:
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            file_links.park(s, actor, file)
            self._file_event(s, file, "parked", actor, {})
            return {"file_id": file.id, "parked": True, "parked_at": views.iso(file.parked_at)}

    def unpark_file(self, actor: User, file_id: int) -> dict[str, Any]:
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            file_links.unpark(s, actor, file)
            self._file_event(s, file, "unparked", actor, {})
            return {"file_id": file.id, "parked": False}

    def parked_items(self, actor: User) -> list[dict[str, Any]]:
        """The open tasks the actor's post has parked (not in the active inbox)."""
        with self.db.reader() as s:
            posts = org.acting_post_ids(s, actor)
            rows = s.scalars(select(OpenTask).where(
                OpenTask.post_id.in_(posts), OpenTask.closed_at.is_(None),
                OpenTask.parked.is_(True)).order_by(OpenTask.id))
            return [views.task_row(t) for t in rows]

    # ------------------------------------------------------------ reopening

    def request_reopen(self, actor: User, file_id: int, reason: str,
                       to: str | None = None) -> dict[str, Any]:
        """The creator post asks to reopen a closed file; the request waits in an
        approver's inbox (process file_reopen). On approval the file is open again with a
        new noting task at the creator post."""
        org.require_post(actor)
        reason = (reason or "").strip()
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            if not holding.acts_for(s, actor, file.creator_post_id):
                raise Forbidden(f"only the creator post of file {file.file_no} can ask to "
                                "reopen it")
            if file.status != "closed":
                raise Conflict(f"file {file.file_no} is {file.status}, not closed")
            if not reason:
                raise InvalidInput("reason: say why the file is to be reopened")
            pending = s.scalar(select(OpenTask.id).where(
                OpenTask.file_id == file.id, OpenTask.closed_at.is_(None)))
            if pending is not None:
                raise Conflict(f"a request to reopen file {file.file_no} is already pending")
            approver = self._reopen_approver(s, actor, to)
            instance, result = self.runtime.start(
                s, REOPEN_PROCESS,
                {"file_id": file.id, "creator_post": file.creator_post_id,
                 "approver_post": approver.id, "holder_post": approver.id, "reason": reason},
                actor=actor, subject_kind="file", subject_id=file.id)
            for row in result.opened:
                row.priority = file.priority
            notices.send(s, f"reopen_requested:file:{file.id}:{instance.id}",
                         org.holders_of(s, approver.id), "reopen_requested",
                         label=file.file_no, subject=file.subject, by=actor.username,
                         reason=reason)
            s.flush()
            return {"file_id": file.id, "file_no": file.file_no, "status": file.status,
                    "approver": views.Names(s).post(approver.id),
                    "tasks": [views.task_row(t) for t in result.opened]}

    @staticmethod
    def _reopen_approver(s: Session, actor: User, to: str | None) -> Post:
        if to:
            post = org.resolve_post(s, to)
            if not post.can_approve:
                raise InvalidInput(f"to: post {post.code} cannot approve")
            return post
        above: Post | None = s.get(Post, actor.post_id)
        while above is not None and not above.can_approve:  # nearest approver above
            above = s.get(Post, above.superior_post_id) if above.superior_post_id else None
        if above is None:
            raise InvalidInput("to: no post above yours can approve; name the approver")
        return above

    def _after_reopen(self, s: Session, actor: User, file: Any) -> None:
        """The reopening was approved: a new file_approval instance, noting at the creator
        post (the file's history goes on in the new instance)."""
        self._start_file(s, actor, file, post_id=file.creator_post_id)

    # ------------------------------------------------------------ digitising, documents

    def digitise(self, actor: User, *, file_id: int | None = None, file_no: str | None = None,
                 subject: str | None = None, note_sheets: list[tuple[bytes, str | None]],
                 correspondence: list[tuple[bytes, str | None]] | None = None,
                 sender: str | None = None) -> dict[str, Any]:
        """A physical file (by id or number; a paper file not registered yet is registered
        under its original number) becomes an e-file with its scans."""
        org.require_post(actor)
        if file_id is None and not (file_no or "").strip():
            raise InvalidInput("file_no: give the physical file's number or its file_id")
        with self.command() as s:
            file = files_mod.get_file(s, file_id) if file_id is not None else s.scalar(
                select(File).where(File.file_no == (file_no or "").strip()))
            created = file is None
            if file is None:
                file = self._start_file(s, actor, digitise.paper_file(s, actor, file_no or "",
                                                                       subject))
            visibility.require_read_file(s, actor, file)
            if not created:
                holding.require_holder_or_creator(s, actor, file, "digitise it")
            digitise.check_can_digitise(s, file, actor)
            digitise.attach(s, self.settings.data_dir, self.settings.max_upload_bytes, actor,
                            file, note_sheets, correspondence or [], sender)
            self._file_event(s, file, "digitised", actor,
                             {"file_no": file.file_no, "registered": created,
                              "note_sheets": len(note_sheets),
                              "correspondence": len(correspondence or [])})
            return views.file_view(s, file, actor)

    def document(self, actor: User, sha256: str) -> tuple[bytes, str]:
        """A stored PDF, served only to someone who may read a file or receipt that
        references it."""
        with self.db.reader() as s:
            doc = s.get(Document, sha256) if SHA256.match(sha256 or "") else None
            if doc is None:
                raise NotFound(f"no document {sha256}")
            # served under the name its uploader gave in an item the actor may read
            names = [r.pdf_name for r in s.scalars(
                select(Receipt).where(Receipt.pdf_sha256 == sha256).order_by(Receipt.id))
                if visibility.may_read_receipt(s, actor, r)]
            names += [title for f, title in s.execute(
                select(File, FileDocument.title)
                .join(FileDocument, FileDocument.file_id == File.id)
                .where(FileDocument.sha256 == sha256).order_by(FileDocument.id))
                if visibility.may_read_file(s, actor, f)]
            if not names:
                raise Forbidden("you may not read any file or receipt this document belongs to")
            return uploads.read(self.settings.data_dir, doc), names[0] or doc.filename
