"""Diary numbers and file numbers from per-scope counters."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.store.models import Counter


def next_value(session: Session, key: str) -> int:
    row = session.get(Counter, key, with_for_update=True)
    if row is None:
        row = Counter(key=key, value=0)
        session.add(row)
    row.value += 1
    session.flush()
    return row.value


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
