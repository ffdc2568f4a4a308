"""Diary numbers and file numbers from per-scope counters."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from engine.store.models import Counter


def next_value(session: Session, key: str) -> int:
    """The counter's next value: one UPDATE ... RETURNING (the row lock serializes
    concurrent writers); the first use of a key inserts it."""
    value = session.execute(update(Counter).where(Counter.key == key)
                            .values(value=Counter.value + 1).returning(Counter.value)
                            .execution_options(synchronize_session=False)).scalar()
    if value is None:
        session.execute(insert(Counter).values(key=key, value=1))
        return 1
    return int(value)


def diary_no(session: Session, dept_code: str, section_code: str, year: int) -> str:
    n = next_value(session, f"diary:{dept_code}:{section_code}:{year}")
    return f"{n}/{year}/{dept_code}-{section_code}"


def file_no(session: Session, dept_code: str, section_code: str, head: str, year: int
            ) -> tuple[str, int]:
    serial = next_value(session, f"file:{dept_code}:{section_code}:{head}:{year}")
    return f"{dept_code}/{section_code}/{head}/{serial}/{year}", serial


def ack_no(session: Session, dept_code: str, year: int) -> str:
    """The acknowledgement number given to the sender of a diarised letter."""
    n = next_value(session, f"ack:{dept_code}:{year}")
    return f"ACK/{year}/{dept_code}/{n}"
