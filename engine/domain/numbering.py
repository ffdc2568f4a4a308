"""Diary numbers and file numbers from per-scope counters.

SQLite (one writer at a time): the counter is bumped inside the action's transaction, so a
number is spent only if the action commits; numbers have no gaps.

PostgreSQL (many writers): the counter is bumped in its own short transaction on a second
connection, committed at once, so the row lock lasts one statement instead of the whole
action. Otherwise every new file of a subject head waits for the previous one's whole
transaction (the hot row of issue "several processes share the work"). The price: an action
that fails after taking its number (a conflict, a refused upload) leaves that number
unused, a gap in the register. Numbers stay unique and increasing in order of allocation;
a gap is visible, never reused, and harmless (no file carries it), which is what a paper
register with a spoilt entry shows too."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from engine.store.driver_sql import driver_statement
from engine.store.models import Counter

_COUNTERS = cast(Table, Counter.__table__)
# Core statements built once (an ORM-enabled UPDATE cost more than the statement itself)
_BUMP = (update(_COUNTERS).where(_COUNTERS.c.key == bindparam("b_key"))
         .values(value=_COUNTERS.c.value + 1).returning(_COUNTERS.c.value))
_FIRST = insert(_COUNTERS).values(key=bindparam("b_key"), value=1)


def next_value(session: Session, key: str) -> int:
    """The counter's next value (see the module docstring for the two databases)."""
    bind = session.get_bind().engine
    if bind.dialect.name == "postgresql":
        with bind.connect() as conn, conn.begin():
            return _claim_apart(conn, key)
    # one UPDATE ... RETURNING (the row lock serializes concurrent writers); the first
    # use of a key inserts it
    conn = session.connection()
    value = driver_statement(conn, _BUMP).execute(conn, {"b_key": key}).scalar()
    if value is None:
        conn.execute(_FIRST, {"b_key": key})
        return 1
    return int(value)


# PostgreSQL: one upsert, the first use of a key inserts 1 (built once)
_UPSERT = (pg_insert(_COUNTERS).values(key=bindparam("b_key"), value=1)
           .on_conflict_do_update(index_elements=[_COUNTERS.c.key],
                                  set_={"value": _COUNTERS.c.value + 1})
           .returning(_COUNTERS.c.value))


def _claim_apart(conn: Connection, key: str) -> int:
    """One upsert in its own transaction."""
    return int(driver_statement(conn, _UPSERT).execute(conn, {"b_key": key}).scalar_one())


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
