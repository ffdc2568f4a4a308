"""Sessions that end on the server: stored API tokens (only their hashes) that expire and
can be revoked, and the per-user session generation that ends every web session and token
of a user at once (sign off everywhere, password change or reset, deactivation)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.store.models import User, utcnow
from engine.store.web_models import ApiToken, SignIn

TOKEN_PREFIX = "snk_"  # noqa: S105 - a marker that tells tokens apart, not a secret
# The token and its user in one statement, built once: every API call starts here, and
# building the statement and its cache key anew was a third of the lookup's cost.
_TOKEN_AND_USER = (select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                   .where(ApiToken.token_hash == bindparam("token_hash")))


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(session: Session, user: User, ttl: timedelta) -> tuple[str, ApiToken]:
    """A new random token for the user; the caller sees it once, the database keeps its
    hash only."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_id=user.id, token_hash=_digest(raw), created_at=now,
                   expires_at=now + ttl)
    session.add(row)
    session.flush()
    return raw, row


def token_owner(session: Session, raw: str, now: datetime | None = None
                ) -> tuple[User, ApiToken] | str:
    """The token's active user and row, or why it is refused."""
    if not raw.startswith(TOKEN_PREFIX):
        return "invalid token"
    found = session.execute(_TOKEN_AND_USER, {"token_hash": _digest(raw)}).first()
    if found is None:
        return "invalid token"
    row, user = found
    if row.revoked_at is not None:
        return "token revoked; sign in again"
    if row.expires_at <= (now or utcnow()):
        return "token expired; sign in again"
    if not user.active:
        return "this account is no longer active"
    return user, row


def revoke_token(session: Session, row: ApiToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def end_all(session: Session, user: User, keep_sign_in_id: int | None = None) -> None:
    """Every web session and API token of the user ends now (but the web sign-in
    `keep_sign_in_id`, whose session takes the new generation)."""
    now = utcnow()
    user.session_generation = (user.session_generation or 0) + 1
    session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                           ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(SignIn).where(SignIn.user_id == user.id, SignIn.outcome == "ok",
                                         SignIn.signed_out_at.is_(None),
                                         SignIn.id != (keep_sign_in_id or 0))
                    .values(signed_out_at=now))


def web_session_valid(session: Session, user: User, sign_in_id: int | None,
                      generation: int | None) -> bool:
    """A web session is valid while its sign-in record is open and it started in the
    user's current session generation."""
    if not user.active or generation != (user.session_generation or 0) or not sign_in_id:
        return False
    record = session.get(SignIn, int(sign_in_id))
    return record is not None and record.user_id == user.id and record.outcome == "ok" \
        and record.signed_out_at is None
