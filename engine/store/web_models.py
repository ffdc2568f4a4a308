"""Tables of the web sign-in: who signed in and out when, failed attempts per key, and
the one-time codes that lift a lock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class SignIn(Base):
    """One sign-in attempt at the web UI: successful ones carry the sign-off time."""

    __tablename__ = "sign_ins"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # ok | failed | locked
    outcome: Mapped[str] = mapped_column(String(16))
    signed_in_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    signed_out_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Consecutive failures per key ('user:<name>' or 'ip:<address>') and the lock they
    earned; a success for the user clears the user's key."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


class SignInUnlockCode(Base):
    """A one-time code sent to a user's own e-mail/phone (never shown on a screen) that
    lifts the sign-in lock of their username at the address that asked for it
    (engine/domain/unlock_codes.py). Only its hash is kept."""

    __tablename__ = "sign_in_unlock_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))  # "-" when the address is unknown
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    wrong_tries: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    """A bearer token of the API. Only its SHA-256 is stored; it expires and can be
    revoked (alone, or with all of its user's sessions)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
