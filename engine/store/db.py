"""Database connections and the one-transaction-per-action helper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict
from engine.store.config_cache import INFO_KEY, ConfigCache


class Database:
    """Owns the engines. On SQLite, writes take the lock up front (BEGIN IMMEDIATE) so two
    writers queue instead of failing half-way; reads stay concurrent under WAL."""

    def __init__(self, url: str, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(url, **kwargs)
        self.write_engine: Engine = (
            create_engine(url, **kwargs) if self.is_sqlite else self.engine
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine, begin="BEGIN")
            _configure_sqlite(self.write_engine, begin="BEGIN IMMEDIATE")
        # configuration every action reads (SLA rules, calendar, posts), cached per database
        self.config = ConfigCache()
        info = {INFO_KEY: self.config}
        self._read = sessionmaker(self.engine, expire_on_commit=False, info=info)
        # Write sessions never autoflush: a command flushes once at its end (or where it
        # explicitly needs database-generated values), see engine/commands/executor.py.
        self._write = sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False,
                                   info=info)
        self.config.watch(self._write)

    @property
    def write_sessions(self) -> sessionmaker:
        """The factory of write sessions (the executor listens to their flushes)."""
        return self._write

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One action = one transaction. Stale versions and lost races become Conflict."""
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
    def reader(self) -> Iterator[Session]:
        session = self._read()
        try:
            yield session
        finally:
            session.close()  # ends the read transaction; loaded objects stay usable

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


def _configure_sqlite(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql(begin)


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text

