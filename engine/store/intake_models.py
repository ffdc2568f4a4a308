"""Tables of e-mail diarisation: where each mailbox's polling stands, the mails taken from
it (pending e-mail receipts until a diarist confirms or rejects them) and their
attachments. The mail bytes themselves are stored by hash under the data folder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class MailboxCursor(Base):
    """How far a configured mailbox has been read: its UIDVALIDITY and the last UID
    taken. A changed UIDVALIDITY restarts from the first UID (Message-ID still dedups)."""

    __tablename__ = "mailbox_cursors"
    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    polled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)  # the last poll's failure, if it failed
    taken: Mapped[int] = mapped_column(Integer, default=0)  # mails taken so far


class EmailReceipt(Base):
    """A mail taken from a mailbox: pending until the diarist diarises or rejects it.
    Taken once: unique by (mailbox, Message-ID) and by (mailbox, UIDVALIDITY, UID)."""

    __tablename__ = "email_receipts"
    __table_args__ = (UniqueConstraint("mailbox", "message_id", name="uq_email_message"),
                      UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_email_uid"))
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(500))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)  # the diarist's
    sender: Mapped[str] = mapped_column(String(300))
    sender_address: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    body: Mapped[str] = mapped_column(Text, default="")
    eml_sha256: Mapped[str] = mapped_column(String(64))
    eml_size: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    remark: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    marked: Mapped[bool] = mapped_column(Boolean, default=False)  # seen flag / move done


class EmailAttachment(Base):
    """One attachment of a taken mail, stored by hash; PDFs can become the receipt's scan,
    others are kept and listed."""

    __tablename__ = "email_attachments"
    __table_args__ = (UniqueConstraint("email_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(ForeignKey("email_receipts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    is_pdf: Mapped[bool] = mapped_column(Boolean, default=False)
