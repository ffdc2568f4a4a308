"""What a service-task handler (handlers/*.py) may do in the e-Office: the small API the
runtime hands it, instead of the raw session and engine internals.

The runtime (engine/bpm, which knows nothing of files) builds an `OfficeContext` for each
handler call; everything runs inside the action's command and transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.audit import history
from engine.bpm.handler_api import HandlerContext
from engine.domain import drafts, files, org, receipts
from engine.notify import notices
from engine.notify.outbox import Addressee
from engine.store.models import File, Instance, Post, Receipt, utcnow


@dataclass
class OfficeContext(HandlerContext):
    @property
    def by(self) -> str:
        """Who caused this step, as messages name them."""
        return self.actor.username if self.actor else "the system"

    def file(self) -> File:
        """The file this process is about (process data `file_id`)."""
        return files.get_file(self.session, int(self.data["file_id"]))

    def receipt(self) -> Receipt:
        return receipts.get_receipt(self.session, int(self.data["receipt_id"]))

    def post(self, post_id: int | None) -> Post | None:
        return self.session.get(Post, post_id) if post_id is not None else None

    def holders(self, post_id: int) -> list[Addressee]:
        """Who is told about the post's items: its holder and additional charges (each
        with id, username, e-mail, phone and language; from the configuration cache)."""
        return list(org.recipients_of(self.session, post_id))

    def notify(self, event_key: str, users: list[Addressee], message: str,
               **params: Any) -> None:
        """Queue a notice (engine/notify/messages.py key `message`) to the outbox; a
        repeated event key is a no-op."""
        notices.send(self.session, event_key, users, message, **params)
        self.results["notified"] = [u.username for u in users]

    def lock(self, file: File) -> datetime:
        """Lock the approved file (its notes sealed first); returns the time of locking."""
        return files.lock(self.session, file, self.actor)

    def approve_drafts(self, file: File) -> list[int]:
        """The file's approval approves the drafts still pending in it; their ids."""
        return drafts.approve_with_file(self.session, file, self.actor)

    def reopen(self, file: File) -> None:
        """An approved reopening: open for noting again, at the creator post."""
        files.reopen(file)
        file.holder_post_id = file.creator_post_id
        file.holder_since = utcnow()

    def content_hash(self, file: File) -> str:
        return files.content_hash(self.session, file)

    def put_up(self, file: File, receipt: Receipt) -> None:
        files.put_up_receipt(self.session, file, receipt, self.actor)

    def file_history(self, file: File, kind: str, data: dict[str, Any]) -> None:
        """An event in the file's own history (its current process instance)."""
        instance = self.session.get(Instance, file.instance_id) if file.instance_id else None
        if instance is not None:
            history.append(self.session, instance, kind,
                           actor=self.actor.username if self.actor else None, data=data)
