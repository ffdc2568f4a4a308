"""What a backup promises about its database: every table's row count and a SHA-256 over
its content, computed the same way on the snapshot and again after a restore.

Rows are read in primary-key order and each one is hashed as canonical JSON, so the figure
depends on the data only (not on page layout, dump format or physical row order). The same
dialect must be on both sides: SQLite returns dates as text, PostgreSQL as datetimes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, inspect

CHUNK = 1024 * 1024
SCHEMA_TABLE = "alembic_version"
DOCUMENTS_TABLE = "documents"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


def table_names(conn: Connection) -> list[str]:
    return sorted(inspect(conn).get_table_names())


def table_figures(conn: Connection) -> dict[str, dict[str, Any]]:
    """{table: {"rows": n, "sha256": hex}} for every table of the default schema. Values
    are hashed as the driver returns them (no type conversion that could fail or hide)."""
    figures: dict[str, dict[str, Any]] = {}
    quote = conn.dialect.identifier_preparer.quote
    inspector = inspect(conn)
    for name in table_names(conn):
        columns = [c["name"] for c in inspector.get_columns(name)]
        order = inspector.get_pk_constraint(name).get("constrained_columns") or columns
        digest = hashlib.sha256()
        rows = 0
        result = conn.execution_options(stream_results=True, yield_per=2000).exec_driver_sql(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(name)} "
            f"ORDER BY {', '.join(quote(c) for c in order)}")
        for row in result:
            digest.update(json.dumps(list(row), default=_plain, sort_keys=True,
                                     ensure_ascii=False, separators=(",", ":")).encode())
            digest.update(b"\n")
            rows += 1
        figures[name] = {"rows": rows, "sha256": digest.hexdigest()}
    return figures


def schema_revision(conn: Connection) -> str | None:
    if SCHEMA_TABLE not in table_names(conn):
        return None
    return conn.exec_driver_sql(f"SELECT version_num FROM {SCHEMA_TABLE}").scalar()


def document_hashes(conn: Connection) -> set[str]:
    """SHA-256 of every uploaded document the database refers to (engine/domain/uploads.py)."""
    if DOCUMENTS_TABLE not in table_names(conn):
        return set()
    return set(conn.exec_driver_sql(f"SELECT sha256 FROM {DOCUMENTS_TABLE}").scalars())


def compare(expected: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]) -> list[str]:
    """Differences between two `table_figures` results, one line each."""
    problems = []
    for name in sorted(set(expected) | set(found)):
        want, got = expected.get(name), found.get(name)
        if got is None:
            problems.append(f"table {name}: missing after restore")
        elif want is None:
            problems.append(f"table {name}: not in the backup")
        elif want["rows"] != got["rows"]:
            problems.append(f"table {name}: {got['rows']} rows, the backup has {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            problems.append(f"table {name}: content differs from the backup")
    return problems
