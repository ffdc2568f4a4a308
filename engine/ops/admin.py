"""The first administrator of a real organisation (`sanchika admin create`), without the
demo: one account with the admin role and a strong password."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.domain import org
from engine.domain.passwords import require_strong
from engine.errors import Conflict, InvalidInput
from engine.store.db import Database
from engine.store.models import User

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


def check_username(username: str, field: str = "username") -> None:
    if not USERNAME.match(username):
        raise InvalidInput(f"{field}: 2-64 characters: lower-case letters, digits, '.', '_' "
                           "or '-', starting with a letter")


def create_admin(db: Database, username: str, password: str, full_name: str | None = None,
                 email: str | None = None) -> User:
    """One transaction: a new active user with the admin role."""
    check_username(username)
    require_strong(password, username)
    with db.transaction() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"username: '{username}' already exists")
        user = org.ensure_user(s, username, full_name or "System Administrator", password,
                               role="admin", email=email or None)
        s.expunge(user)
        return user
