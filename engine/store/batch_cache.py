"""A cache that lives for one batch transaction (the timer sweep's): reads that cannot
change within it (who holds a post, which channels a user switched off) are made once per
batch instead of once per instance. Off unless the batch turns it on; ordinary commands
read afresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

KEY = "sanchika.batch_cache"
T = TypeVar("T")


def enable(session: Session) -> None:
    session.info[KEY] = {}


def memo(session: Session, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()`, remembered under `key` for the rest of the batch (if one is on)."""
    cache: dict[tuple[Any, ...], Any] | None = session.info.get(KEY)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    value: T = cache[key]
    return value
