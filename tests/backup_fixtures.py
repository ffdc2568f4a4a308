"""The restore target shared by the backup tests: an empty database of the suite's kind
(SQLite file, or a database of its own on the PostgreSQL test server) and data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from engine.config import Settings


@pytest.fixture(name="target")
def restore_target(tmp_path: Path, pg_database: str | None) -> Iterator[Settings]:
    """An empty database and data folder of the same kind, to restore into."""
    env = {"SANCHIKA_DATA_DIR": str(tmp_path / "restored"), "SANCHIKA_SECRET_KEY": "other"}
    if not pg_database:
        env["SANCHIKA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'restored' / 'sanchika.db'}"
        yield Settings.from_env(env)
        return
    base = make_url(pg_database)
    name = f"{base.database}_restore"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    env["SANCHIKA_DATABASE_URL"] = base.set(database=name).render_as_string(
        hide_password=False)
    yield Settings.from_env(env)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
