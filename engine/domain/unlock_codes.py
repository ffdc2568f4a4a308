"""One-time codes that let a user lift the sign-in lock on their own username (the second
factor: something sent to the e-mail address or phone the office registered for them).

A code is asked for at the sign-in page from the address that is locked, sent through
the outbox to the user's own e-mail/SMS (never to the page or the API answer, never to
the in-app inbox), and lifts only the lock of that (username, address): a guesser
elsewhere gains nothing, and an address locked for guessing many usernames stays locked.
Codes are short-lived, work once, allow a few wrong tries, and only a few are sent per
hour, so neither guessing a code nor flooding a user's phone pays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.models import User
from engine.store.web_models import SignInUnlockCode

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a phone


@dataclass(frozen=True)
class UnlockPolicy:
    length: int = 8  # 40 bits
    valid: timedelta = timedelta(minutes=15)
    resend_after: timedelta = timedelta(minutes=1)  # one code a minute per user and address
    per_hour: int = 5  # codes a user is sent in an hour, at most
    wrong_tries: int = 5  # then the code is spent


def address_of(ip: str | None) -> str:
    return (ip or "-")[:64]


def normalise(code: str | None) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def _hash(user_id: int, address: str, code: str) -> str:
    return hashlib.sha256(f"{user_id}|{address}|{normalise(code)}".encode()).hexdigest()


def reachable(user: User) -> bool:
    """Whether a code can reach the user at all (an e-mail address or a phone number)."""
    return bool((user.email or "").strip() or (user.phone or "").strip())


def issue(session: Session, user: User, ip: str | None, now: datetime,
          policy: UnlockPolicy) -> tuple[SignInUnlockCode, str] | None:
    """A new code for (user, address), or None when one was sent a moment ago or the
    hour's allowance is used up. Earlier unused codes for the address stop working."""
    address = address_of(ip)
    recent = session.scalars(select(SignInUnlockCode).where(
        SignInUnlockCode.user_id == user.id,
        SignInUnlockCode.created_at > now - timedelta(hours=1))).all()
    if len(recent) >= policy.per_hour or any(
            r.address == address and r.created_at > now - policy.resend_after for r in recent):
        return None
    for old in recent:
        if old.address == address and old.used_at is None:
            old.used_at = now
    raw = "".join(secrets.choice(ALPHABET) for _ in range(policy.length))
    code = f"{raw[:4]}-{raw[4:]}"
    row = SignInUnlockCode(user_id=user.id, address=address, code_hash=_hash(user.id, address,
                                                                                  code),
                           created_at=now, expires_at=now + policy.valid, wrong_tries=0)
    session.add(row)
    session.flush()
    return row, code


def redeem(session: Session, user: User, ip: str | None, code: str, now: datetime,
           policy: UnlockPolicy) -> bool:
    """Spend the code if it is the live one for (user, address); a wrong code counts
    against the live one (the caller commits that count even when it refuses)."""
    address = address_of(ip)
    live = session.scalar(select(SignInUnlockCode).where(
        SignInUnlockCode.user_id == user.id, SignInUnlockCode.address == address,
        SignInUnlockCode.used_at.is_(None), SignInUnlockCode.expires_at > now)
        .order_by(SignInUnlockCode.id.desc()).limit(1))
    if live is None:
        return False
    if hmac.compare_digest(live.code_hash, _hash(user.id, address, code)):
        live.used_at = now
        return True
    live.wrong_tries += 1
    if live.wrong_tries >= policy.wrong_tries:
        live.used_at = now  # spent: ask for a new one
    return False

