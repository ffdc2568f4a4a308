"""Files sent with an outbox e-mail: written in the same transaction as the message,
read by the deliverer when it builds the e-mail (engine/notify/delivery.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.admin_models import OutboxAttachment
from engine.store.models import OutboxMessage

if TYPE_CHECKING:
    from engine.store.db import Database


def attach(session: Session, message: OutboxMessage, filename: str, content_type: str,
           data: bytes) -> None:
    session.flush()  # the message's id
    session.add(OutboxAttachment(outbox_id=message.id, filename=filename,
                                 content_type=content_type, data=data))


def of_message(db: Database, outbox_id: int) -> list[tuple[str, str, bytes]]:
    with db.reader() as s:
        return [(name, kind, data) for name, kind, data in s.execute(
            select(OutboxAttachment.filename, OutboxAttachment.content_type,
                   OutboxAttachment.data).where(OutboxAttachment.outbox_id == outbox_id)
            .order_by(OutboxAttachment.id))]
