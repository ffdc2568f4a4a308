"""Taking new mails from the configured mailboxes, each exactly once.

A mail is taken in one transaction that inserts its pending e-mail receipt and advances
the mailbox's cursor. Unique constraints on (mailbox, Message-ID) and (mailbox,
UIDVALIDITY, UID) make a second take (the same mail delivered again, a restart between
commit and cursor, two processes polling at once) fail harmlessly: the loser skips it.
Only after that commit is the mailbox changed, and only as configured (seen flag or move).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.domain import uploads
from engine.errors import Conflict
from engine.intake import imap
from engine.intake.config import Mailbox
from engine.intake.message import parse
from engine.store.db import Database, get_or_404
from engine.store.intake_models import EmailAttachment, EmailReceipt, MailboxCursor
from engine.store.models import Post, utcnow

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    mailbox: str
    taken: int = 0
    duplicates: int = 0
    error: str | None = None


def _cursor(db: Database, name: str) -> tuple[int, int]:
    """(uidvalidity, last_uid) of the mailbox, creating its row the first time."""
    with db.reader() as s:
        row = s.get(MailboxCursor, name)
        if row is not None:
            return row.uidvalidity, row.last_uid
    try:
        with db.transaction() as s:
            s.add(MailboxCursor(mailbox=name, uidvalidity=0, last_uid=0, taken=0))
    except (Conflict, IntegrityError):
        pass  # another process made it at the same moment
    return 0, 0


def _post_id(db: Database, box: Mailbox) -> int:
    with db.reader() as s:
        post_id = s.scalar(select(Post.id).where(Post.code == box.post))
    if post_id is None:
        raise imap.ImapError(f"mailbox {box.name}: no post with code {box.post}")
    return post_id


def take(db: Database, data_dir: Path, box: Mailbox, post_id: int, uidvalidity: int, uid: int,
         raw: bytes) -> bool:
    """Store the mail and make its pending e-mail receipt; False if it was taken before."""
    mail = parse(raw)
    with db.reader() as s:
        known = s.scalar(select(EmailReceipt.id).where(
            EmailReceipt.mailbox == box.name, EmailReceipt.message_id == mail.message_id))
    if known is None:
        # Bytes are written before the transaction: a rollback leaves an unreferenced file.
        eml = uploads.store_bytes(data_dir, raw)
        stored = [(a, uploads.store_bytes(data_dir, a.data)) for a in mail.attachments]
    try:
        with db.transaction() as s:
            cursor = get_or_404(s, MailboxCursor, box.name)
            if cursor.uidvalidity != uidvalidity:
                cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
            cursor.last_uid = max(cursor.last_uid, uid)
            if known is not None:
                return False
            row = EmailReceipt(
                mailbox=box.name, uidvalidity=uidvalidity, uid=uid,
                message_id=mail.message_id, post_id=post_id, sender=mail.sender,
                sender_address=mail.sender_address, subject=mail.subject,
                sent_at=mail.sent_at, body=mail.body, eml_sha256=eml, eml_size=len(raw),
                taken_at=utcnow(), status="pending", marked=box.after == "keep")
            s.add(row)
            s.flush()
            for n, (att, sha) in enumerate(stored, start=1):
                s.add(EmailAttachment(email_id=row.id, position=n, filename=att.filename,
                                      content_type=att.content_type, size=len(att.data),
                                      sha256=sha, is_pdf=att.is_pdf))
            cursor.taken += 1
    except (Conflict, IntegrityError):
        return False  # another process took it first
    return True


def _mark(db: Database, conn: imap.Connection, uid: int) -> None:
    conn.mark(uid)
    with db.transaction() as s:
        for row in s.scalars(select(EmailReceipt).where(
                EmailReceipt.mailbox == conn.box.name,
                EmailReceipt.uidvalidity == conn.uidvalidity, EmailReceipt.uid == uid)):
            row.marked = True


def poll_mailbox(db: Database, data_dir: Path, box: Mailbox) -> PollResult:
    result = PollResult(box.name)
    try:
        post_id = _post_id(db, box)
        validity, last_uid = _cursor(db, box.name)
        with imap.connect(box) as conn:
            current = conn.select(readonly=box.after == "keep")
            if current != validity:
                last_uid = 0  # the folder was recreated: UIDs start again
            if box.after != "keep":  # marks left undone by an earlier poll (a lost connection)
                with db.reader() as s:
                    unmarked = list(s.scalars(select(EmailReceipt.uid).where(
                        EmailReceipt.mailbox == box.name, EmailReceipt.uidvalidity == current,
                        EmailReceipt.marked.is_(False))))
                for uid in unmarked:
                    _mark(db, conn, uid)
            for uid in conn.new_uids(last_uid):
                raw = conn.fetch(uid)
                if raw is None:
                    continue
                if take(db, data_dir, box, post_id, current, uid, raw):
                    result.taken += 1
                else:
                    result.duplicates += 1
                if box.after != "keep":
                    _mark(db, conn, uid)
    except imap.ImapError as exc:
        result.error = str(exc)
    except Exception as exc:  # a poll must never take the scheduler down
        log.exception("polling mailbox %s failed", box.name)
        result.error = f"mailbox {box.name}: {exc.__class__.__name__}: {str(exc)[:200]}"
    _record(db, box.name, result.error)
    return result


def _record(db: Database, name: str, error: str | None) -> None:
    try:
        with db.transaction() as s:
            cursor = s.get(MailboxCursor, name)
            if cursor is not None:
                cursor.polled_at = utcnow()
                cursor.error = error
    except Exception:
        log.warning("could not record the poll of mailbox %s", name, exc_info=True)
