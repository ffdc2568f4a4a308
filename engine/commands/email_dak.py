"""E-mail diarisation (a mixin of Sanchika): polling the configured mailboxes, and the
diarist's pending e-mail receipts, each confirmed into a receipt or rejected with a remark.

Polling is engine/intake/poll.py; this mixin is what people and the scheduler call."""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from engine.commands.executor import CommandRunner
from engine.domain import org, receipts, uploads
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.intake import config as intake_config
from engine.intake.mailpdf import text_pdf
from engine.intake.poll import PollResult, poll_mailbox
from engine.read import views
from engine.sla.policy import limit_for
from engine.store.db import rows_changed
from engine.store.intake_models import EmailAttachment, EmailReceipt, MailboxCursor
from engine.store.models import User, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.bpm.runtime import Runtime
    from engine.config import Settings
    from engine.store.db import Database

STATUSES = ("pending", "diarised", "rejected")
_DEVANAGARI = re.compile(r"[\u0900-\u097F]")
# Fields of the diarise form a diarist may edit when confirming.
EDITABLE = ("sender", "subject", "category", "letter_ref", "letter_date", "language",
            "grading")


class EmailDakServices(CommandRunner):
    db: Database
    settings: Settings
    runtime: Runtime

    @cached_property
    def _intake(self) -> intake_config.IntakeConfig:
        return intake_config.load(self.settings.mailboxes_file)

    def intake_config(self) -> intake_config.IntakeConfig:
        """The configured mailboxes (read once; a bad file stops the server at start)."""
        return self._intake

    def poll_mailboxes(self) -> list[PollResult]:
        """Take new mails from every configured mailbox (the scheduler's job)."""
        return [poll_mailbox(self.db, self.settings.data_dir, box)
                for box in self._intake.mailboxes]

    # -------------------------------------------------------------- reading

    def _email_for(self, s: Session, actor: User, email_id: int) -> EmailReceipt:
        row = s.get(EmailReceipt, email_id)
        if row is None:
            raise NotFound(f"no e-mail receipt with id {email_id}")
        if row.post_id not in org.acting_post_ids(s, actor) and actor.role != "admin":
            raise Forbidden("this e-mail receipt is for another post's diarist")
        return row

    def email_receipts(self, actor: User, status: str = "pending") -> list[dict[str, Any]]:
        """E-mail receipts of the posts the user holds (an administrator sees all)."""
        if status not in STATUSES:
            raise InvalidInput(f"status: must be one of {', '.join(STATUSES)}")
        with self.db.reader() as s:
            query = select(EmailReceipt).where(EmailReceipt.status == status) \
                .order_by(EmailReceipt.taken_at, EmailReceipt.id).limit(500)
            if actor.role != "admin":
                query = query.where(EmailReceipt.post_id.in_(org.acting_post_ids(s, actor)))
            names = views.Names(s)
            return [self._email_row(s, r, names) for r in s.scalars(query)]

    def email_receipt(self, actor: User, email_id: int) -> dict[str, Any]:
        with self.db.reader() as s:
            row = self._email_for(s, actor, email_id)
            out = self._email_row(s, row, views.Names(s))
            out["body"] = row.body
            out["prefill"] = self._prefill(row)
            return out

    def mailbox_status(self, actor: User) -> list[dict[str, Any]]:
        """Each configured mailbox and how its last poll went (for administrators)."""
        org.require_role(actor, "admin")
        with self.db.reader() as s:
            out = []
            for box in self._intake.mailboxes:
                cursor = s.get(MailboxCursor, box.name)
                out.append({"name": box.name, "host": box.host, "folder": box.folder,
                            "post": box.post, "security": box.security, "after": box.after,
                            "polled_at": views.iso(cursor.polled_at) if cursor else None,
                            "taken": cursor.taken if cursor else 0,
                            "error": cursor.error if cursor else None})
            return out

    def email_file(self, actor: User, email_id: int, position: int | None
                   ) -> tuple[bytes, str, str]:
        """The mail itself (.eml, position None) or one of its attachments:
        (bytes, file name, content type)."""
        with self.db.reader() as s:
            row = self._email_for(s, actor, email_id)
            if position is None:
                return (uploads.read_bytes(self.settings.data_dir, row.eml_sha256),
                        f"mail-{row.id}.eml", "message/rfc822")
            att = s.scalar(select(EmailAttachment).where(
                EmailAttachment.email_id == row.id, EmailAttachment.position == position))
            if att is None:
                raise NotFound(f"e-mail receipt {email_id} has no attachment {position}")
            return (uploads.read_bytes(self.settings.data_dir, att.sha256), att.filename,
                    "application/pdf" if att.is_pdf else att.content_type)

    @staticmethod
    def _prefill(row: EmailReceipt) -> dict[str, Any]:
        hindi = _DEVANAGARI.search(row.subject + row.body[:2000]) is not None
        return {"sender": (f"{row.sender} <{row.sender_address}>"
                           if row.sender_address and row.sender_address != row.sender
                           else row.sender)[:300],
                "subject": row.subject, "mode": "email", "category": "",
                "letter_ref": "", "language": "hi" if hindi else "en", "grading": "Normal",
                "letter_date": row.sent_at.date().isoformat() if row.sent_at else ""}

    @staticmethod
    def _email_row(s: Session, row: EmailReceipt, names: views.Names) -> dict[str, Any]:
        attachments = s.scalars(select(EmailAttachment).where(EmailAttachment.email_id == row.id)
                                .order_by(EmailAttachment.position))
        return {
            "id": row.id, "mailbox": row.mailbox, "message_id": row.message_id,
            "sender": row.sender, "sender_address": row.sender_address,
            "subject": row.subject, "sent_at": views.iso(row.sent_at),
            "taken_at": views.iso(row.taken_at), "status": row.status, "remark": row.remark,
            "post": names.post(row.post_id), "receipt_id": row.receipt_id,
            "decided_by": names.user(row.decided_by) if row.decided_by else None,
            "decided_at": views.iso(row.decided_at),
            "attachments": [{"position": a.position, "filename": a.filename,
                             "content_type": a.content_type, "size": a.size,
                             "is_pdf": a.is_pdf} for a in attachments],
        }

    # -------------------------------------------------------------- deciding

    def _claim(self, s: Session, actor: User, email_id: int, status: str, remark: str | None
               ) -> EmailReceipt:
        """Move a pending e-mail receipt to its decided status, once: a second decision
        (a double click, two diarists at once) is a Conflict."""
        row = self._email_for(s, actor, email_id)
        done = s.execute(update(EmailReceipt).where(
            EmailReceipt.id == email_id, EmailReceipt.status == "pending").values(
            status=status, remark=remark, decided_by=actor.id, decided_at=utcnow()))
        if rows_changed(done) != 1:
            raise Conflict(f"e-mail receipt {email_id} was already {row.status}")
        s.refresh(row)
        return row

    def confirm_email(self, actor: User, email_id: int, fields: dict[str, Any] | None = None,
                      scan: int | None = None) -> dict[str, Any]:
        """Diarise the mail as an electronic receipt (mode e-mail) with the fields given
        over the pre-filled ones. The scan is the PDF attachment at position `scan`
        (default: the first PDF); a mail without one gets a PDF made of its text."""
        org.require_post(actor)
        fields = fields or {}
        unknown = sorted(set(fields) - set(EDITABLE))
        if unknown:
            raise InvalidInput(f"{unknown[0]}: not a field of an e-mail receipt")
        with self.command() as s:
            row = self._claim(s, actor, email_id, "diarised", None)
            chosen = self._scan_of(s, row, scan)
            if chosen is not None:
                data = uploads.read_bytes(self.settings.data_dir, chosen.sha256)
                name = chosen.filename if chosen.filename.lower().endswith(".pdf") \
                    else chosen.filename + ".pdf"
            else:
                data = text_pdf(self._mail_lines(row), row.subject)
                name = f"mail-{row.id}.pdf"
            document = uploads.store_pdf(s, self.settings.data_dir,
                                         self.settings.max_upload_bytes, data, name, actor,
                                         "scan")
            merged = {**self._prefill(row),
                      **{k: v for k, v in fields.items() if v not in (None, "")}}
            merged.update(mode="email", form="electronic", pdf_sha256=document.sha256)
            receipt = receipts.diarise(s, actor, {k: v for k, v in merged.items()
                                                  if v not in (None, "")})
            instance, _result = self.runtime.start(
                s, "dak_receipt",
                {"receipt_id": receipt.id, "holder_post": actor.post_id,
                 "sla_duration": limit_for("Normal", self.settings.sla_default)},
                actor=actor, subject_kind="receipt", subject_id=receipt.id)
            receipt.instance_id = instance.id
            row.receipt_id = receipt.id
            s.flush()
            return {**views.receipt_view(s, receipt), "email_id": row.id}

    def reject_email(self, actor: User, email_id: int, remark: str) -> dict[str, Any]:
        remark = (remark or "").strip()
        if not remark:
            raise InvalidInput("remark: say why the mail is not diarised")
        with self.command() as s:
            row = self._claim(s, actor, email_id, "rejected", remark[:2000])
            return self._email_row(s, row, views.Names(s))

    @staticmethod
    def _scan_of(s: Session, row: EmailReceipt, scan: int | None) -> EmailAttachment | None:
        query = select(EmailAttachment).where(EmailAttachment.email_id == row.id,
                                              EmailAttachment.is_pdf.is_(True))
        if scan is not None:
            chosen = s.scalar(query.where(EmailAttachment.position == scan))
            if chosen is None:
                raise InvalidInput(f"scan: attachment {scan} is not a PDF of this mail")
            return chosen
        return s.scalar(query.order_by(EmailAttachment.position).limit(1))

    @staticmethod
    def _mail_lines(row: EmailReceipt) -> list[str]:
        sent = row.sent_at.isoformat(" ", "minutes") if row.sent_at else ""
        return [f"From: {row.sender} <{row.sender_address or ''}>", f"Date: {sent}",
                f"Subject: {row.subject}", "", *row.body.splitlines()]


__all__ = ["EmailDakServices"]
