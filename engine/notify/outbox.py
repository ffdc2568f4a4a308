"""Notifications are written here inside the action's transaction; a worker delivers
them after commit (so a rolled-back action never notifies, and a committed one always does).

Channels: 'app' (readable in the API, so born 'sent'), 'email' for users with an e-mail
address and 'sms' for users with a phone number (both born 'pending' and delivered by
engine/notify/delivery.py). A user may switch e-mail and SMS off in My settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.history import COMMAND_CONTEXT
from engine.store import batch_cache
from engine.store.desk_models import UserSetting
from engine.store.models import OutboxMessage, User, utcnow


@dataclass(frozen=True)
class Recipient:
    """Who is told, as the configuration cache keeps them (engine/domain/org.py
    `recipients_of`): what the outbox needs of a user, and the channels they switched off."""

    id: int
    username: str
    email: str | None
    phone: str | None
    language: str
    channels_off: frozenset[str]

    @classmethod
    def of(cls, user: User, off: frozenset[str]) -> Recipient:
        return cls(user.id, user.username, user.email, user.phone, user.language, off)


Addressee = User | Recipient


def channels_for(user: Addressee, off: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(channel, recipient) pairs a user is reached on: in-app always; e-mail and SMS when
    they have an address and have not switched that channel off (`off`)."""
    out = [("app", user.username)]
    if user.email and user.email.strip() and "email" not in off:
        out.append(("email", user.email.strip()))
    if user.phone and user.phone.strip() and "sms" not in off:
        out.append(("sms", user.phone.strip()))
    return out


def notify(session: Session, event_key: str, users: Sequence[Addressee], subject: str,
           body: str, extra: dict[str, Any] | None = None, private: bool = False) -> None:
    """One message per user and channel; event_key makes a repeat of the same event a no-op.
    `extra`: further columns of each row (item, catalogue key, parameters). `private`:
    a security message (a one-time code) for the user's own e-mail and phone only, even
    where they switched those channels off, and never into the in-app inbox."""
    notify_each(session, event_key, [(user, subject, body) for user in users], extra,
                private)


def notify_each(session: Session, event_key: str, messages: list[tuple[Addressee, str, str]],
                extra: dict[str, Any] | None = None, private: bool = False) -> None:
    """Like notify, with each user's own subject and body (e.g. in their language). One
    query finds which of the event's rows exist already."""
    # a cached Recipient carries its switched-off channels; plain users are looked up; a
    # private message goes to e-mail and SMS whatever the settings, never to the app inbox
    off = {} if private else channels_off(session, [user.id for user, _, _ in messages
                                                    if not isinstance(user, Recipient)])
    rows = {f"{event_key}:{user.id}:{channel}": (user, channel, recipient, subject, body)
            for user, subject, body in messages
            for channel, recipient in channels_for(
                user, frozenset() if private
                else user.channels_off if isinstance(user, Recipient)
                else off.get(user.id, frozenset()))
            if not (private and channel == "app")}
    if not rows:
        return
    # every queued row has the same columns (one executemany): the extra ones default to NULL
    columns = {"item_kind": None, "item_id": None, "message_key": None, "params": None,
               **(extra or {})}
    ctx = session.info.get(COMMAND_CONTEXT)
    if ctx is not None:
        # queued: one INSERT ... ON CONFLICT (event_key) DO NOTHING when the command ends
        now = utcnow()
        for key, (user, channel, recipient, subject, body) in rows.items():
            ctx.add_outbox({"event_key": key, "channel": channel, "user_id": user.id,
                            "recipient": recipient, "subject": subject, "body": body,
                            # in-app messages are "delivered" by being readable in the API
                            "status": "sent" if channel == "app" else "pending",
                            "attempts": 0, "created_at": now, **columns})
        return
    # Outside a command: rows written earlier in this transaction count too.
    existing = {o.event_key for o in session.new if isinstance(o, OutboxMessage)}
    with session.no_autoflush:
        existing.update(session.scalars(select(OutboxMessage.event_key).where(
            OutboxMessage.event_key.in_(list(rows)))))
    for key, (user, channel, recipient, subject, body) in rows.items():
        if key in existing:
            continue
        session.add(OutboxMessage(
            event_key=key, channel=channel, user_id=user.id, recipient=recipient,
            subject=subject, body=body,
            status="sent" if channel == "app" else "pending",
            **(extra or {}),
        ))


def channels_off(session: Session, user_ids: list[int]) -> dict[int, frozenset[str]]:
    """The channels each user has switched off (My settings); none by default."""
    if not user_ids:
        return {}
    return batch_cache.memo(session, ("channels_off", *sorted(set(user_ids))),
                            lambda: _channels_off(session, user_ids))


def _channels_off(session: Session, user_ids: list[int]) -> dict[int, frozenset[str]]:
    with session.no_autoflush:
        rows = session.scalars(select(UserSetting).where(UserSetting.user_id.in_(user_ids)))
        return {r.user_id: frozenset(c for c, on in (("email", r.notify_email),
                                                     ("sms", r.notify_sms)) if not on)
                for r in rows}


def for_user(session: Session, user: User, limit: int = 50, offset: int = 0
             ) -> list[OutboxMessage]:
    """A page of the user's in-app messages, newest first (ix_outbox_user_channel)."""
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.user_id == user.id,
                                    OutboxMessage.channel == "app")
        .order_by(OutboxMessage.id.desc()).offset(offset).limit(limit)))
