"""Notifications by event, each recipient in their own language (engine/notify/messages.py),
written to the outbox in the caller's transaction. The event key makes a repeat of one
event a no-op, so nobody is told twice about the same thing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.notify import messages, outbox
from engine.store.models import User


def send(session: Session, event_key: str, users: list[User], key: str,
         **params: Any) -> None:
    by_language: dict[str, list[User]] = {}
    for user in users:
        by_language.setdefault(messages.language_of(user.language), []).append(user)
    for language, group in by_language.items():
        subject, body = messages.render(key, language, **params)
        outbox.notify(session, event_key, group, subject, body)


def received(session: Session, event_key: str, users: list[User], *, label: str,
             subject: str, by: str, action: str) -> None:
    send(session, event_key, users, "received", label=label, subject=subject, by=by,
         action=action)


def notify_pulled_back(session: Session, *, kind: str, subject_id: int, event_id: str | int,
                       recipients: list[User], label: str, subject: str, by: str) -> None:
    """Tell the people an item was pulled back from (urgent: on every channel they have,
    SMS included). `event_id` tells one pull-back from another of the same item (e.g. the
    movement id); the same event_id never notifies twice."""
    send(session, f"pulled_back:{kind}:{subject_id}:{event_id}", recipients, "pulled_back",
         label=label, subject=subject, by=by)
