"""Bearer tokens for the API (stored server-side as hashes: they expire and can be
revoked) and the current user.

The API accepts only bearer tokens, never the web UI's session cookie: the API is exempt
from CSRF checks, so a cookie must not be able to authorise a write there."""

from __future__ import annotations

from flask import current_app, g, request

from engine.errors import Unauthorized
from engine.store.models import User


def issue_token(user: User) -> dict:
    """A new token for the user: {"token", "expires_at"}."""
    return current_app.extensions["sanchika"].issue_api_token(user)


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def current_user() -> User:
    if "user" in g:
        return g.user
    raw = bearer()
    if not raw:
        raise Unauthorized("sign in first: POST /api/v1/auth/token, then send "
                           "'Authorization: Bearer <token>'")
    g.user = current_app.extensions["sanchika"].token_user(raw)
    return g.user
