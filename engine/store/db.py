"""Database connections and the one-transaction-per-action helper."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnDefault,
    Connection,
    CursorResult,
    Engine,
    Result,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    update,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import InstanceState, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import ConnectionPoolEntry

from engine.errors import Conflict, NotFound
from engine.store.audit_models import ApprovalSignature
from engine.store.config_cache import INFO_KEY, ConfigCache
from engine.store.driver_sql import driver_statement
from engine.store.models import Correspondence, File, Instance, Note, OpenTask, Receipt

Row = TypeVar("Row")
# session.info key: called with (session, objects) after a flush inserted new rows outside
# the ORM's flush (engine/commands/executor.py hands them to the command's listeners)
INSERTED_HOOK = "plain_inserted"
# PostgreSQL session settings for every connection the app opens. JIT compilation pays off
# for long analytical queries; Sanchika's are short index lookups, and JIT compiled their
# plans for seconds at a million files (bench/README.md), so it is off.
PG_OPTIONS = "-c jit=off"
# A pooled PostgreSQL connection idle for longer than this is tested before use (a
# server restart or a dropped connection); one back in the pool for less was working
# moments ago. Testing every checkout cost each request two round trips, which on a
# loaded server took as long as its statements (bench/README.md).
PING_AFTER_IDLE_SECONDS = 1.0


def get_or_404(s: Session, model: type[Row], ident: int | str | None,
               what: str | None = None) -> Row:
    """The row of `model` with primary key `ident`, or NotFound naming it. Use it wherever a
    lookup by id may miss (input, or a nullable reference), so callers get a row, not an
    Optional, and a miss is a clear 404 instead of an AttributeError on None."""
    row = s.get(model, ident) if ident is not None else None
    if row is None:
        label = what or re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()
        raise NotFound(f"no {label} with id {ident}")
    return row


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed. `Session.execute` is typed as returning a
    plain Result; for a DML statement it is a CursorResult, which counts them."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} carries no row count")
    return result.rowcount


class WriteSession(Session):
    """A session whose every flush writes the changed instances' versioned UPDATEs first
    (`UPDATE instances ... WHERE version = :v`, the claim). On PostgreSQL a concurrent
    action on the same instance then waits for the first to commit and finds the version
    moved on (a Conflict, 409) before it writes anything else, e.g. to a file the first
    action locked meanwhile, which the locked-record triggers would refuse with an error.

    The rows every action writes (the file's holder, the closed and the new open-task rows)
    are written with Core statements built once instead of the ORM's unit of work, which
    cost more than the statements themselves; everything else goes to the ORM's flush."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        if objects is not None:
            super().flush(objects)
            return
        dirty = self.dirty
        new = self.new
        plain_updates = [o for o in dirty if type(o) in _PLAIN_UPDATE and _plain_changes(o)]
        plain_inserts = [o for o in new if type(o) in _PLAIN_INSERT]
        claims = [o for o in dirty if isinstance(o, Instance)]
        if claims and (plain_updates or plain_inserts
                       or len(claims) < len(dirty) + len(new) + len(self.deleted)):
            # written here with one Core UPDATE each, so the ORM's flush that follows
            # (one unit of work for everything else) finds them clean
            for instance in claims:
                _claim(self, instance)
        # the ORM's order: by table, then by primary key
        plain_updates.sort(key=lambda o: (_PLAIN_UPDATE[type(o)], o.id))
        for obj in plain_updates:
            _update_row(self, obj)
        for obj in plain_inserts:  # out of the ORM's flush; back in once inserted
            self.expunge(obj)
        super().flush()
        # after the ORM's flush, so the rows they refer to exist; in the order they were
        # added (a row refers only to rows whose ids it was given, so added before it)
        for obj in plain_inserts:
            _insert_row(self, obj)
        told = self.info.get(INSERTED_HOOK)
        if told is not None and plain_inserts:
            told(self, plain_inserts)


_INSTANCES = cast(Table, Instance.__table__)


@lru_cache(maxsize=64)
def _claim_statement(keys: tuple[str, ...]) -> Any:
    """The claim for one set of changed columns, built once (bound values `v_<column>`)."""
    values: dict[str, Any] = {key: bindparam(f"v_{key}") for key in keys}
    return update(_INSTANCES).where(
        _INSTANCES.c.id == bindparam("b_id"),
        _INSTANCES.c.version == bindparam("b_version")).values(
        version=bindparam("v_version"), **values)


def _claim(session: Session, instance: Instance) -> None:
    """The instance's changed columns and its next version in one `UPDATE instances ...
    WHERE id = :id AND version = :v`; no row changed means someone else moved it on
    (StaleDataError, as the ORM's own versioned UPDATE raises: a Conflict). The object
    is then marked as holding what the database holds."""
    state = inspect(instance)
    changes = _changed_columns(state)
    changes.pop("version", None)
    if not changes:
        return
    old = int(state.committed_state.get("version", instance.__dict__["version"]))
    new = old + 1
    keys = tuple(sorted(changes))
    params = {f"v_{key}": value for key, value in changes.items()}
    params.update(b_id=instance.id, b_version=old, v_version=new)
    conn = session.connection()
    result = driver_statement(conn, _claim_statement(keys)).execute(conn, params)
    if result.rowcount != 1:
        raise StaleDataError(f"instance {instance.id}: version {old} is no longer current")
    for key, value in changes.items():
        set_committed_value(instance, key, value)
    set_committed_value(instance, "version", new)
    if not state.committed_state:  # nothing else (a relationship) left for the ORM
        state._commit_all(state.dict, session.identity_map)


# Rows written with Core when they change (table order as the ORM's flush) or are new. Only
# column changes: the search index watches a file's number and subject (engine/search/
# index.py, after the ORM's flush), so a file with those changed goes to the ORM.
_PLAIN_UPDATE: dict[type, int] = {File: 0, OpenTask: 1}
# New rows of the hot path written as driver statements after the ORM's flush: a receipt,
# a file, its instance, a note, a receipt's place in a file, an open task, an approval's
# signature. None of these has a relationship, so their rows hold every reference as a
# plain id; the search index learns of the new files, receipts and notes through
# INSERTED_HOOK, as other new rows reach it through the ORM's `after_flush`.
_PLAIN_INSERT = frozenset({Receipt, File, Instance, Note, Correspondence, OpenTask,
                           ApprovalSignature})
# the first version of a row the mapper versions (`version_id_col`), as the ORM's INSERT
# writes it
_FIRST_VERSION: dict[type, str] = {Instance: "version"}
_ORM_ONLY: dict[type, frozenset[str]] = {File: frozenset(File.SEARCHED)}


def _changed_columns(state: InstanceState[Any]) -> dict[str, Any]:
    """The column attributes whose value differs from the one loaded, and their new values.
    A changed attribute keeps its loaded value in `committed_state` (a marker when none
    was loaded); a value set back to what was loaded is no change, as in the ORM's own
    attribute history, which costs several times more to ask."""
    current = state.dict
    columns = state.mapper.columns
    return {key: current[key] for key, loaded in state.committed_state.items()
            if key in columns and key in current and loaded != current[key]}


def _plain_changes(obj: Any) -> bool:
    """Only column attributes changed, none that must go through the ORM."""
    state = inspect(obj)
    keys = state.committed_state.keys()
    if not keys:
        return False
    columns = state.mapper.columns
    return all(key in columns for key in keys) and not (
        keys & _ORM_ONLY.get(type(obj), frozenset()))


@lru_cache(maxsize=128)
def _update_statement(table: Table, keys: tuple[str, ...]) -> Any:
    """UPDATE of one row by id for one set of changed columns, built once."""
    return update(table).where(table.c.id == bindparam("b_id")).values(
        {key: bindparam(f"v_{key}") for key in keys})


def _update_row(session: Session, obj: Any) -> None:
    """The object's changed columns in one `UPDATE ... WHERE id = :id`; no row changed is
    a StaleDataError, as from the ORM's own UPDATE. The object then holds what the
    database holds (clean: the ORM's flush passes it by)."""
    state = inspect(obj)
    changes = _changed_columns(state)
    if changes:
        keys = tuple(sorted(changes))
        params = {f"v_{key}": value for key, value in changes.items()}
        params["b_id"] = obj.id
        table = cast(Table, state.mapper.local_table)
        conn = session.connection()
        result = driver_statement(conn, _update_statement(table, keys)).execute(conn, params)
        if result.rowcount != 1:
            raise StaleDataError(f"{table.name} {obj.id}: the row is gone")
    state._commit_all(state.dict, session.identity_map)


@lru_cache(maxsize=16)
def _insert_plan(mapper: Any) -> tuple[Any, list[tuple[str, str, Any]]]:
    """The INSERT of a mapper's table (every column but the id, which it returns) and, per
    column, (column, attribute, Python-side default or None), worked out once."""
    table = cast(Table, mapper.local_table)
    columns = []
    for column in table.columns:
        if column.primary_key:
            continue
        default = column.default if isinstance(column.default, ColumnDefault) else None
        if default is None and column.server_default is not None:
            # the INSERT names every column: a value left out would be NULL, not the
            # server's default (give the column a Python-side default too)
            raise ValueError(f"{table.name}.{column.name}: a server default only; "
                             "such a row cannot be a plain insert")
        columns.append((column.name, mapper.get_property_by_column(column).key, default))
    return insert(table).returning(table.c.id), columns


def _insert_row(session: Session, obj: Any) -> None:
    """A new object (taken out of the session) as one Core INSERT, its Python-side
    defaults applied on the object first so nothing is left to load back; then it is
    back in the session, persistent."""
    state = inspect(obj)
    statement, columns = _insert_plan(state.mapper)
    given = state.dict
    versioned = _FIRST_VERSION.get(type(obj))
    if versioned is not None and given.get(versioned) is None:
        setattr(obj, versioned, 1)
    values: dict[str, Any] = {}
    for name, key, default in columns:
        if key in given:
            values[name] = given[key]
            continue
        value = None
        if default is not None:
            value = default.arg(None) if default.is_callable else default.arg
        setattr(obj, key, value)
        values[name] = value
    conn = session.connection()
    row_id = driver_statement(conn, statement, list(values)).execute(conn, values).scalar()
    if row_id is None:
        raise RuntimeError(f"{type(obj).__name__}: the INSERT returned no id")
    obj.id = row_id
    make_transient_to_detached(obj)
    session.add(obj)


class Database:
    """Owns the engines. On SQLite, writes take the lock up front (BEGIN IMMEDIATE) so two
    writers queue instead of failing half-way; reads stay concurrent under WAL."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, connect_args={"options": PG_OPTIONS})
        self.engine: Engine = create_engine(url, **kwargs)
        self.write_engine: Engine = (
            create_engine(url, **kwargs) if self.is_sqlite else self.engine
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine, begin="BEGIN")
            _configure_sqlite(self.write_engine, begin="BEGIN IMMEDIATE")
        else:
            _ping_when_idle(self.engine)
        # configuration every action reads (SLA rules, calendar, posts), cached per database
        self.config = ConfigCache()
        info = {INFO_KEY: self.config}
        self._read = sessionmaker(self.engine, expire_on_commit=False, info=info)
        # PostgreSQL reads in READ COMMITTED see a snapshot per statement, in a transaction
        # or not; without one a short read skips two round trips (BEGIN, ROLLBACK), which
        # on a loaded server cost as much as the statements (bench/README.md)
        self._read_autocommit = self._read if self.is_sqlite else sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False, info=info)
        # Write sessions never autoflush: a command flushes once at its end (or where it
        # explicitly needs database-generated values), see engine/commands/executor.py.
        self._write = sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False,
                                   info=info, class_=WriteSession)
        self.config.watch(self._write)
        # re-entrant: a transaction opened inside another on the same thread waits for
        # SQLite (as before), not for itself
        self._sqlite_writer = threading.RLock()

    @property
    def write_sessions(self) -> sessionmaker:
        """The factory of write sessions (the executor listens to their flushes)."""
        return self._write

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One action = one transaction. Stale versions and lost races become Conflict."""
        if self.is_sqlite:
            # The threads of this process queue for SQLite's one write lock on a Python
            # lock: a waiter wakes the moment the writer before it ends, where SQLite's
            # busy handler would poll with growing sleeps (waits of seconds under load,
            # and unfair: a late writer may overtake one that has waited long).
            with self._sqlite_writer:
                yield from self._transaction()
        else:
            yield from self._transaction()

    def _transaction(self) -> Iterator[Session]:
        session = self._write()
        try:
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise Conflict("someone else acted on this item first; reload and try again") from exc
        except IntegrityError as exc:
            session.rollback()
            if _is_unique_violation(exc):
                raise Conflict("a concurrent action got there first; try again") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reader(self, autocommit: bool = False) -> Iterator[Session]:
        """A read-only session. `autocommit`: on PostgreSQL, statements run outside a
        transaction, for short reads of a few statements that need no snapshot shared
        between them (no server-side cursors: `yield_per` needs a transaction)."""
        session = (self._read_autocommit if autocommit else self._read)()
        try:
            yield session
        finally:
            session.close()  # ends the read transaction; loaded objects stay usable

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections idle longer than
    PING_AFTER_IDLE_SECONDS only. A dead one is replaced (the pool retries the checkout on
    DisconnectionError); a connection that dies while in use fails its statement and
    SQLAlchemy then renews every connection of the pool, as with pre-ping."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry,
                     _proxy: Any) -> None:
        since = record.info.get("idle_since")  # None: a new connection
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc


def _configure_sqlite(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text

