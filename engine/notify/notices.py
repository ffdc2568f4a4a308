"""Notifications by event, each recipient in their own language (engine/notify/messages.py),
written to the outbox in the caller's transaction. The event key makes a repeat of one
event a no-op, so nobody is told twice about the same thing. Each message keeps its
catalogue key and parameters (so the UI can show it in the reader's language of the day)
and the file or receipt it is about (a link)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from engine.notify import messages, outbox
from engine.notify.outbox import Addressee
from engine.store.models import Instance, OpenTask


def send(session: Session, event_key: str, users: Sequence[Addressee], key: str,
         **params: Any) -> None:
    _send(session, event_key, users, key, params, private=False)


def send_private(session: Session, event_key: str, users: Sequence[Addressee], key: str,
                 **params: Any) -> None:
    """A security message (a one-time code): e-mail and SMS only, whatever the user's
    channel settings (outbox.notify), and its parameters are not kept beside it."""
    _send(session, event_key, users, key, params, private=True)


def _send(session: Session, event_key: str, users: Sequence[Addressee], key: str,
          params: dict[str, Any], private: bool) -> None:
    by_language: dict[str, list[Addressee]] = {}
    for user in users:
        by_language.setdefault(messages.language_of(user.language), []).append(user)
    about = item_of(session, event_key)
    for language, group in by_language.items():
        subject, body = messages.render(key, language, **dict(params))
        outbox.notify(session, event_key, group, subject, body, private=private,
                      extra={"message_key": key, "params": None if private else _plain(params),
                             "item_kind": about[0] if about else None,
                             "item_id": about[1] if about else None})


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (int, float, bool)) or v is None else str(v)
            for k, v in params.items()}


def item_of(session: Session, event_key: str) -> tuple[str, int] | None:
    """The file or receipt an event is about, from its key: '<event>:<kind>:<id>:...',
    'copy:<receipt id>', 'due_soon:<task id>' or 'breach:<instance id>:...'."""
    parts = event_key.split(":")
    if len(parts) >= 3 and parts[1] in ("file", "receipt") and parts[2].isdigit():
        return parts[1], int(parts[2])
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    if parts[0] == "copy":
        return "receipt", int(parts[1])
    if parts[0] == "due_soon":
        task = session.get(OpenTask, int(parts[1]))
        if task is not None:
            return task.kind, int(task.file_id or task.receipt_id or 0)
    if parts[0] == "breach":
        instance = session.get(Instance, int(parts[1]))
        if instance is not None and instance.subject_kind in ("file", "receipt"):
            return instance.subject_kind, int(instance.subject_id or 0)
    return None


def received(session: Session, event_key: str, users: Sequence[Addressee], *, label: str,
             subject: str, by: str, action: str) -> None:
    send(session, event_key, users, "received", label=label, subject=subject, by=by,
         action=action)


def notify_pulled_back(session: Session, *, kind: str, subject_id: int, event_id: str | int,
                       recipients: Sequence[Addressee], label: str, subject: str, by: str) -> None:
    """Tell the people an item was pulled back from (urgent: on every channel they have,
    SMS included). `event_id` tells one pull-back from another of the same item (e.g. the
    movement id); the same event_id never notifies twice."""
    send(session, f"pulled_back:{kind}:{subject_id}:{event_id}", recipients, "pulled_back",
         label=label, subject=subject, by=by)
