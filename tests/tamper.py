"""What an attacker with superuser (or database file) access does: switch the guard
triggers of some tables off, change rows with plain SQL, switch them back on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, bindparam, text


@contextmanager
def unguarded(conn: Connection, *tables: str) -> Iterator[None]:
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name IN :t").bindparams(
                                     bindparam("t", expanding=True)), {"t": list(tables)}).all()
        for name, _ in rows:
            conn.execute(text(f"DROP TRIGGER {name}"))
        yield
        for _, create in rows:
            conn.execute(text(create))
    else:
        for table in tables:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield
        for table in tables:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def tamper(service, statement, tables=("history_events",), **params) -> None:  # type: ignore[no-untyped-def]
    """Run one statement (text or a SQLAlchemy statement) with the guards of `tables` off."""
    with service.db.write_engine.begin() as conn, unguarded(conn, *tables):
        conn.execute(text(statement) if isinstance(statement, str) else statement, params)
