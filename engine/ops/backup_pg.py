"""PostgreSQL with its own tools: `pg_dump` (custom format) inside an exported snapshot, so
the dump and the row figures describe the same moment, and `pg_restore` into an empty
database in one transaction.

The password never goes on a command line (visible to every user in `ps`): it is handed to
the tools in PGPASSWORD.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from engine.errors import SanchikaError

SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"


class BackupError(SanchikaError):
    """A backup or restore that cannot go on; the message says why."""

    status = 500
    code = "backup_failed"


def tool(name: str) -> str:
    """The newest installed `pg_dump`/`pg_restore` (a dump needs a tool at least as new as
    the server): SANCHIKA_PG_BIN, then /usr/lib/postgresql/<major>/bin, then PATH."""
    candidates = []
    if os.environ.get("SANCHIKA_PG_BIN"):
        candidates.append(Path(os.environ["SANCHIKA_PG_BIN"]) / name)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)],
                      reverse=True)
    candidates += [v / name for v in versions]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(f"{name} not found: install the PostgreSQL client tools (e.g. "
                      f"`apt-get install postgresql-client`) or set SANCHIKA_PG_BIN")


def libpq(url: str | URL) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, environment for the tools)."""
    # imported on first use, so that every process starts light (CLI, workers)
    from psycopg.conninfo import make_conninfo

    u = make_url(url)
    params = {k: v for k, v in {"host": u.host, "port": u.port, "user": u.username,
                                "dbname": u.database}.items() if v is not None}
    params.update({k: v for k, v in u.query.items() if isinstance(v, str)})
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return make_conninfo("", **params), env


def run(args: list[str], env: dict[str, str]) -> None:
    # PostgreSQL's own programs (pg_dump, pg_restore) with arguments we build; no shell
    done = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        name = Path(args[0]).name
        raise BackupError(f"{name} failed (exit {done.returncode}): "
                          f"{done.stderr.strip() or done.stdout.strip()}")


@contextmanager
def exported_snapshot(url: str) -> Iterator[tuple[Connection, str]]:
    """A REPEATABLE READ transaction and its snapshot id for `pg_dump --snapshot`."""
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            yield conn, snapshot
            conn.rollback()
    finally:
        engine.dispose()


def dump(url: str, snapshot: str, out: Path) -> None:
    conninfo, env = libpq(url)
    run([tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--snapshot={snapshot}", f"--file={out}", f"--dbname={conninfo}"], env)


def ensure_database(url: str) -> None:
    """Create the target database when it does not exist yet."""
    u = make_url(url)
    if not u.database:
        raise BackupError(f"the database URL names no database: {u.render_as_string()}")
    engine = create_engine(u)
    try:
        with engine.connect():
            return
    except OperationalError as exc:
        if "does not exist" not in str(exc.orig):
            raise BackupError(f"cannot connect to {u.render_as_string()}: {exc.orig}") from exc
    finally:
        engine.dispose()
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = u.database.replace('"', '""')
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def user_tables(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                             f"{SYSTEM_SCHEMAS}")).scalar_one()


def wipe(url: str) -> None:
    """--force: drop every user schema and start from an empty `public`."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            schemas = conn.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                f"AND nspname NOT IN {SYSTEM_SCHEMAS}")).scalars().all()
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def restore(url: str, dump_file: Path) -> None:
    conninfo, env = libpq(url)
    run([tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", f"--dbname={conninfo}", str(dump_file)], env)
