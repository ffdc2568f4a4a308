"""Bearer tokens for the API (signed, expiring) and the current user.

The API accepts only bearer tokens, never the web UI's session cookie: the API is exempt
from CSRF checks, so a cookie must not be able to authorise a write there."""

from __future__ import annotations

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from engine.errors import Unauthorized
from engine.store.models import User

TOKEN_MAX_AGE = 12 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sanchika-api-token")


def issue_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id})


def current_user() -> User:
    if "user" in g:
        return g.user
    user_id = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        try:
            user_id = _serializer().loads(header[7:].strip(), max_age=TOKEN_MAX_AGE)["uid"]
        except SignatureExpired:
            raise Unauthorized("token expired; sign in again") from None
        except (BadSignature, KeyError, TypeError):
            raise Unauthorized("invalid token") from None
    if user_id is None:
        raise Unauthorized("sign in first: POST /api/v1/auth/token, then send "
                           "'Authorization: Bearer <token>'")
    user = current_app.extensions["sanchika"].user(int(user_id))
    if user is None or not user.active:
        raise Unauthorized("this account is no longer active")
    g.user = user
    return user
