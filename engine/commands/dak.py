"""Dak in depth (a mixin of Sanchika): a receipt diarised from another's metadata, copies
sent along with a forward, and where the paper of a physical receipt is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.commands.executor import CommandRunner
from engine.domain import org, receipts, visibility
from engine.errors import InvalidInput
from engine.notify import notices
from engine.sla.policy import limit_for
from engine.store.db import get_or_404
from engine.store.models import File, Movement, OpenTask, Post, Receipt, User, utcnow

if TYPE_CHECKING:
    from engine.bpm.runtime import Runtime
    from engine.config import Settings
    from engine.store.db import Database

# What a new receipt takes over from the one it is diarised from (never the scan).
COPIED_FIELDS = ("sender", "subject", "mode", "category", "letter_ref", "letter_date",
                 "language", "grading")
MAX_COPIES = 50


class DakServices(CommandRunner):
    db: Database
    settings: Settings
    runtime: Runtime

    if TYPE_CHECKING:  # provided by Sanchika
        def diarise(self, actor: User, fields: dict[str, Any], pdf: bytes | None = None,
                    pdf_name: str | None = None) -> dict[str, Any]: ...

    def receipt_template(self, actor: User, receipt_id: int) -> dict[str, Any]:
        """The metadata a new receipt would take over from this one."""
        with self.db.reader() as s:
            source = receipts.get_receipt(s, receipt_id)
            visibility.require_read_receipt(s, actor, source)
            return {k: getattr(source, k) for k in COPIED_FIELDS}

    def diarise_from(self, actor: User, receipt_id: int, fields: dict[str, Any],
                     pdf: bytes | None = None, pdf_name: str | None = None) -> dict[str, Any]:
        """Diarise a new receipt pre-filled from an existing one (a batch of letters from
        one sender); given fields win, and the scan is only the one given now."""
        merged = self.receipt_template(actor, receipt_id)
        merged.update({k: v for k, v in fields.items() if v not in (None, "")})
        merged["from_receipt_id"] = receipt_id
        return self.diarise(actor, merged, pdf, pdf_name)

    # -------------------------------------------------------------- hooks in _act

    def _receipt_extras(self, s: Session, actor: User, task: OpenTask, action: str,
                        body: dict[str, Any], to_post: Post | None) -> dict[str, Any]:
        """Before a task completes: send the copies that go with a forward. Returns what
        the action's history event should record about it."""
        refs = body.get("copies") or []
        if not refs:
            return {}
        if task.kind != "receipt":
            raise InvalidInput("copies: only a receipt is sent with copies")
        if action != "forward":
            raise InvalidInput("copies: copies go with a forward")
        if not isinstance(refs, list) or len(refs) > MAX_COPIES:
            raise InvalidInput(f"copies: a list of at most {MAX_COPIES} usernames or posts")
        return {"copies": self._send_copies(s, actor, task, refs, to_post, body.get("remark"))}

    def _send_copies(self, s: Session, actor: User, task: OpenTask, refs: list[Any],
                     to_post: Post | None, remark: str | None) -> list[dict[str, Any]]:
        original = receipts.get_receipt(s, task.receipt_id)
        sender_post = get_or_404(s, Post, task.post_id)
        taken = {task.post_id, to_post.id if to_post else None}
        made: list[dict[str, Any]] = []
        count = s.scalar(select(func.count()).select_from(Receipt)
                         .where(Receipt.copy_of_id == original.id)) or 0
        for ref in refs:
            post = org.resolve_post(s, str(ref), "copies")
            if post.id in taken:
                raise InvalidInput(f"copies: post {post.code} already gets the receipt itself "
                                   "or a copy of it")
            taken.add(post.id)
            count += 1
            copy = self._make_copy(s, actor, original, sender_post, post, count, remark)
            made.append({"post": post.code, "receipt_id": copy.id, "diary_no": copy.diary_no})
        return made

    def _make_copy(self, s: Session, actor: User, original: Receipt, sender_post: Post,
                   post: Post, number: int, remark: str | None) -> Receipt:
        """A copy is a receipt of its own (same letter, same scan) at the copy's post, with
        its own process, so its holder acts on it (forward, put up in a file, close with a
        remark such as 'seen') and its history is complete."""
        now = utcnow()
        copy = Receipt(
            diary_no=f"{original.diary_no}/C{number}", copy_of_id=original.id,
            section_id=original.section_id, form=original.form,
            paper_location=f"photocopy with {post.title}" if original.form == "physical"
            else None,
            pdf_sha256=original.pdf_sha256, pdf_name=original.pdf_name, received_at=now,
            diarised_by=actor.id,
            diarised_post_id=sender_post.id, holder_post_id=post.id, holder_since=now,
            **{k: getattr(original, k) for k in COPIED_FIELDS})
        s.add(copy)
        s.flush()
        instance, _ = self.runtime.start(
            s, "dak_receipt",
            {"receipt_id": copy.id, "holder_post": post.id, "copy_of": original.id,
             "sla_duration": limit_for("Normal", self.settings.sla_default)},
            actor=actor, subject_kind="receipt", subject_id=copy.id)
        copy.instance_id = instance.id
        s.add(Movement(receipt_id=copy.id, from_post_id=sender_post.id, to_post_id=post.id,
                       action="copy", remark=remark, sent_by=actor.id, sent_at=now,
                       paper_location=copy.paper_location))
        notices.send(s, f"copy:{copy.id}", org.holders_of(s, post.id), "copy_received",
                     label=copy.diary_no, original=original.diary_no, subject=original.subject,
                     by=actor.username)
        return copy

    def _after_receipt_step(self, s: Session, task: OpenTask, body: dict[str, Any]) -> None:
        """After a physical receipt moves: record where its paper went."""
        if task.kind != "receipt":
            return
        receipt = receipts.get_receipt(s, task.receipt_id)
        if receipt.form != "physical":
            if body.get("paper_location"):
                raise InvalidInput("paper_location: only a physical receipt has paper to track")
            return
        given = str(body.get("paper_location") or "").strip()[:200] or None
        if receipt.status == "open" and receipt.holder_post_id is not None:
            # the movement this action made is not flushed yet (one flush per command)
            moved = next((m for m in s.new if isinstance(m, Movement)
                          and m.receipt_id == receipt.id
                          and m.to_post_id == receipt.holder_post_id
                          and m.sent_at == receipt.holder_since), None) or s.scalar(
                select(Movement).where(
                    Movement.receipt_id == receipt.id,
                    Movement.to_post_id == receipt.holder_post_id,
                    Movement.sent_at == receipt.holder_since)
                .order_by(Movement.id.desc()).limit(1))
            if moved is not None and moved.paper_location is None:
                holder = get_or_404(s, Post, receipt.holder_post_id)
                moved.paper_location = given or f"sent to {holder.title}"
                receipt.paper_location = moved.paper_location
                return
        if given:
            receipt.paper_location = given
        elif receipt.status == "filed" and receipt.file_id is not None:
            file = get_or_404(s, File, receipt.file_id)
            receipt.paper_location = f"placed in file {file.file_no}"
