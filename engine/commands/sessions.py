"""Service actions on sessions (mixed into `Sanchika`): API tokens that expire and can be
revoked, web sessions checked against the server on every request, and the acts that end
all of a user's sessions and tokens: sign off everywhere, password change and reset,
deactivation. Each public method is one transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from engine.commands.executor import CommandRunner
from engine.commands.people import audit
from engine.domain import org, passwords, sessions
from engine.errors import Conflict, InvalidInput, Unauthorized
from engine.read import views
from engine.store.db import get_or_404
from engine.store.models import User

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.store.db import Database

MIN_PASSWORD = 8
MAX_PASSWORD = 200


def _check_password(password: str, field: str) -> str:
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise InvalidInput(f"{field}: {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class SessionServices(CommandRunner):
    db: Database
    settings: Settings

    # ------------------------------------------------------------ API tokens

    def issue_api_token(self, user: User) -> dict[str, Any]:
        with self.command() as s:
            life = timedelta(hours=self.settings.api_token_hours)
            raw, row = sessions.issue_token(s, get_or_404(s, User, user.id, "user"), life)
            return {"token": raw, "expires_at": views.iso(row.expires_at)}

    def token_user(self, raw: str) -> User:
        """The user a bearer token belongs to (reads only), or Unauthorized saying why."""
        with self.db.reader(autocommit=True) as s:
            found = sessions.token_owner(s, raw)
            if isinstance(found, str):
                raise Unauthorized(found)
            return found[0]

    def revoke_api_token(self, raw: str) -> None:
        with self.command() as s:
            found = sessions.token_owner(s, raw)
            if isinstance(found, str):
                raise Unauthorized(found)
            sessions.revoke_token(s, found[1])

    # ------------------------------------------------------------ web sessions

    def session_user(self, user_id: int, sign_in_id: int | None,
                     generation: int | None) -> User | None:
        """The user of a web session, if the server still holds that session open."""
        with self.db.reader(autocommit=True) as s:
            user = s.get(User, user_id)
            if user is None or not sessions.web_session_valid(s, user, sign_in_id, generation):
                return None
            return user

    # ------------------------------------------------------------ ending every session

    def sign_off_everywhere(self, actor: User) -> None:
        with self.command() as s:
            sessions.end_all(s, get_or_404(s, User, actor.id, "user"))

    def change_password(self, actor: User, old: str, new: str, repeat: str | None = None,
                        keep_sign_in_id: int | None = None) -> int:
        """The user changes their own password; every session and token of theirs ends,
        except the web sign-in `keep_sign_in_id` that made the change. Returns the new
        session generation (for that session)."""
        if repeat is not None and new != repeat:
            raise InvalidInput("repeat_password: the two new passwords differ")
        passwords.require_strong(new or "", actor.username, "new_password")
        with self.command() as s:
            user = get_or_404(s, User, actor.id, "user")
            try:
                org.authenticate(s, user.username, old or "")
            except Unauthorized:
                raise InvalidInput("old_password: not your current password") from None
            if old == new:
                raise InvalidInput("new_password: the same as the current one")
            user.password_hash = org.hash_password(new)
            sessions.end_all(s, user, keep_sign_in_id=keep_sign_in_id)
            audit(s, actor, "password_changed", user.username, {})
            return user.session_generation

    def reset_password(self, actor: User, username: str, new: str) -> None:
        """An administrator sets a new password; the user's sessions and tokens end."""
        org.require_role(actor, "admin")
        _check_password(new, "password")
        with self.command() as s:
            user = org.user_by_username(s, username)
            user.password_hash = org.hash_password(new)
            sessions.end_all(s, user)
            audit(s, actor, "password_reset", user.username, {})

    def deactivate_user(self, actor: User, username: str) -> dict[str, Any]:
        """An administrator deactivates an account; its sessions and tokens end now."""
        org.require_role(actor, "admin")
        with self.command() as s:
            user = org.user_by_username(s, username)
            if user.id == actor.id:
                raise Conflict("username: you cannot deactivate your own account")
            user.active = False
            sessions.end_all(s, user)
            audit(s, actor, "user_deactivated", user.username, {})
            return {"username": user.username, "active": False}
