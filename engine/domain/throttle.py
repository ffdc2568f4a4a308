"""Sign-in throttling that slows a guesser without locking the officer out.

Failures are counted per (username, address): after a few, each further try must wait a
growing delay, and then the pair is locked for a while (doubling up to a limit). Another
address is not affected, so guessing an officer's password from one place never locks the
officer out of their own desk. An address failing for many usernames is locked as a whole.
Failures for one username across all addresses are only counted: crossing a threshold
alerts the user that someone is guessing. An administrator can lift the locks of a user
(or of an address); the user can lift the lock on their username at their own address
with a one-time code sent to their e-mail/phone (engine/domain/unlock_codes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from engine.store.db import rows_changed
from engine.store.web_models import SignInThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures: int = 2  # failures of a (username, address) before any delay
    first_delay: timedelta = timedelta(seconds=2)  # then 2 s, 4 s, ... until the lock
    pair_failures: int = 5  # failures of a (username, address) that lock the pair
    lock: timedelta = timedelta(minutes=5)  # doubling with each further failure
    max_lock: timedelta = timedelta(hours=1)
    ip_failures: int = 20  # failures from one address (any usernames) that lock it
    alert_at: tuple[int, ...] = (5, 20, 100)  # failures for one username: tell the user
    window: timedelta = timedelta(minutes=30)  # failures older than this are forgotten


def pair_key(username: str, ip: str | None) -> str:
    return f"pair:{username.lower()[:60]}|{(ip or '-')[:60]}"


def ip_key(ip: str) -> str:
    return f"ip:{ip[:64]}"


def user_key(username: str) -> str:
    return f"user:{username.lower()[:64]}"


def locked_until(session: Session, username: str, ip: str | None, now: datetime
                 ) -> datetime | None:
    """Until when this username may not be tried from this address (None: now)."""
    keys = [pair_key(username, ip)] + ([ip_key(ip)] if ip else [])
    times = [row.locked_until for row in (session.get(SignInThrottle, k) for k in keys)
             if row is not None and row.locked_until and row.locked_until > now]
    return max(times) if times else None


def pair_locked_until(session: Session, username: str, ip: str | None, now: datetime
                      ) -> datetime | None:
    """Until when this (username, address) is locked by its own failures (an address lock
    for many usernames is not counted: a user's second factor does not lift that)."""
    row = session.get(SignInThrottle, pair_key(username, ip))
    if row is None or not row.locked_until or row.locked_until <= now:
        return None
    return row.locked_until


def unlock_pair(session: Session, username: str, ip: str | None) -> int:
    """Lift the lock and count of one (username, address): the user proved it is them
    (engine/domain/unlock_codes.py)."""
    return rows_changed(session.execute(delete(SignInThrottle).where(
        SignInThrottle.key == pair_key(username, ip))))


def _count(session: Session, key: str, now: datetime, policy: ThrottlePolicy
           ) -> SignInThrottle:
    row = session.get(SignInThrottle, key)
    if row is None:
        row = SignInThrottle(key=key, failures=0)
        session.add(row)
    if row.last_failure_at and now - row.last_failure_at > policy.window:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    return row


def pair_delay(failures: int, policy: ThrottlePolicy) -> timedelta | None:
    """The wait after the n-th failure of a (username, address): none at first, then
    growing delays, then a lock that doubles up to max_lock."""
    if failures >= policy.pair_failures:
        return min(policy.lock * 2 ** (failures - policy.pair_failures), policy.max_lock)
    if failures > policy.free_failures:
        return policy.first_delay * 2 ** (failures - policy.free_failures - 1)
    return None


def record_failure(session: Session, username: str, ip: str | None, now: datetime,
                   policy: ThrottlePolicy) -> int | None:
    """Count a failure; returns the username's failure count if it just crossed an alert
    threshold (the caller tells the user), else None."""
    pair = _count(session, pair_key(username, ip), now, policy)
    delay = pair_delay(pair.failures, policy)
    pair.locked_until = now + delay if delay else None
    if ip:
        by_ip = _count(session, ip_key(ip), now, policy)
        if by_ip.failures >= policy.ip_failures:
            by_ip.locked_until = now + min(
                policy.lock * 2 ** (by_ip.failures - policy.ip_failures), policy.max_lock)
    by_user = _count(session, user_key(username), now, policy)  # counted, never locks
    return by_user.failures if by_user.failures in policy.alert_at else None


def record_success(session: Session, username: str, ip: str | None) -> None:
    session.execute(delete(SignInThrottle).where(
        SignInThrottle.key.in_([pair_key(username, ip), user_key(username)])))


def unlock(session: Session, username: str | None = None, ip: str | None = None) -> int:
    """Lift the locks and counts of a username (every address) and/or of an address."""
    conditions = []
    if username:
        name = username.lower()[:60]
        conditions += [SignInThrottle.key.like(f"pair:{name}|%"),
                       SignInThrottle.key == user_key(username)]
    if ip:
        conditions += [SignInThrottle.key == ip_key(ip)]
    if not conditions:
        return 0
    return rows_changed(session.execute(delete(SignInThrottle).where(or_(*conditions))))
