"""A user lifts the sign-in lock on their username with a second factor: a one-time code
sent to their own e-mail/phone (engine/domain/unlock_codes.py). Both commands need no
sign-in (the user is locked out) and answer the same whether or not the username exists,
is locked or can be reached, so they tell a guesser nothing.

A mixin of `Sanchika`; each method is one command (one transaction)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.commands.executor import CommandRunner
from engine.domain import throttle, unlock_codes
from engine.errors import InvalidInput, Unauthorized
from engine.notify import notices
from engine.store.access_models import AuditEntry
from engine.store.models import User, utcnow

if TYPE_CHECKING:
    from engine.store.db import Database

UNLOCK_CODE_SENT = ("if this username is locked from your address and has an e-mail "
                    "address or phone number, an unlock code has been sent to it")


class UnlockServices(CommandRunner):
    db: Database
    unlock_policy = unlock_codes.UnlockPolicy()

    def request_unlock_code(self, username: str, ip: str | None = None) -> dict[str, Any]:
        """Send a one-time unlock code to the user's own e-mail/SMS when their username is
        locked from this address. The code is never in the answer."""
        username = _username(username)
        now = utcnow()
        with self.command() as s:
            user = s.scalar(select(User).where(User.username == username))
            if (user is not None and user.active and unlock_codes.reachable(user)
                    and throttle.pair_locked_until(s, username, ip, now) is not None):
                issued = unlock_codes.issue(s, user, ip, now, self.unlock_policy)
                if issued is not None:
                    row, code = issued
                    minutes = int(self.unlock_policy.valid.total_seconds() // 60)
                    notices.send_private(
                        s, f"sign_in_unlock_code:{user.id}:{row.id}", [user],
                        "sign_in_unlock_code", code=code, username=user.username,
                        address=ip or "unknown", minutes=minutes)
                    s.add(AuditEntry(at=now, actor=user.username,
                                     kind="sign_in_unlock_code_sent", subject=user.username,
                                     data={"address": ip}))
        return {"username": username, "message": UNLOCK_CODE_SENT}

    def redeem_unlock_code(self, username: str, code: str, ip: str | None = None
                           ) -> dict[str, Any]:
        """Lift the lock of (username, this address) with the code sent to the user."""
        username = _username(username)
        if not unlock_codes.normalise(code):
            raise InvalidInput("code: the unlock code sent to you")
        now = utcnow()
        with self.command() as s:
            user = s.scalar(select(User).where(User.username == username))
            # a wrong code is counted (and committed) before it is refused
            ok = (user is not None and user.active
                  and unlock_codes.redeem(s, user, ip, code, now, self.unlock_policy))
            if ok:
                throttle.unlock_pair(s, username, ip)
                s.add(AuditEntry(at=now, actor=username, kind="sign_in_unlocked_by_code",
                                 subject=username, data={"address": ip}))
        if not ok:
            raise Unauthorized("code: wrong, expired or already used unlock code")
        return {"username": username, "address": ip, "lifted": True}


def _username(value: str | None) -> str:
    username = (value or "").strip()[:64]
    if not username:
        raise InvalidInput("username: required")
    return username
