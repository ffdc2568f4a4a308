"""The one door for state changes: every command runs inside a `CommandContext` that the
`Executor` opens, flushes once and commits.

    with executor.command(actor) as ctx:      # nested calls reuse the open context
        ... domain code works on ctx.session, queues history/outbox rows on ctx ...
    # leaving the block: listeners run, the ORM flushes once (the instance's versioned
    # UPDATE claims it), batched Core inserts follow, one commit, then after-commit hooks.

What the context carries:
- `session` (autoflush off: nothing reaches the database until the command ends or code
  asks for a flush), `actor`, `now`, and the posts the actor acts for (`acting_posts`);
- a per-command cache (`memo`) for things worked out once per command (e.g. a file's content
  hash, which both the lock and the signature need);
- rows queued for batched inserts: history events (already chained in memory), outbox
  messages (inserted with ON CONFLICT DO NOTHING on the event key), and rows nobody reads
  back within the command (timers, movements);
- listeners: objects with optional `flushed(ctx)` (after each ORM flush, to see what
  changed), `inserted(ctx, objects)` (the new rows a flush wrote outside the ORM's unit of
  work, engine/store/db.py), `before_commit(ctx)` and `after_commit(ctx)` hooks. The search
  index is one (engine/search/index.py); the workflow cache registers `after_commit`
  callbacks.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Table, event, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.bpm import script_pool
from engine.store.db import INSERTED_HOOK, Database
from engine.store.driver_sql import driver_statement
from engine.store.models import HistoryEvent, OutboxMessage, User, utcnow

CONTEXT_KEY = "command_context"
# tables, not entities: one executemany with one column list per batch
_HISTORY = cast(Table, HistoryEvent.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)


@dataclass
class CommandContext:
    session: Session
    actor: User | None
    now: datetime
    listeners: list[Any]
    history_rows: list[dict[str, Any]] = field(default_factory=list)
    outbox_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # other rows nobody reads back in the command (timers, movements): table -> rows
    insert_rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    loaded: list[Any] = field(default_factory=list)  # strong references, see Executor
    _acting: list[int] | None = None

    # ------------------------------------------------------------ reading, cached

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """A value worked out once per command."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def forget(self, key: Any) -> None:
        self.cache.pop(key, None)

    def acting_posts(self) -> list[int]:
        """The posts the actor acts for today (substantive and additional charges)."""
        if self._acting is None:
            from engine.domain import org  # domain sits above the command core's imports
            self._acting = [] if self.actor is None else org.acting_post_ids(
                self.session, self.actor)
        return self._acting

    # ------------------------------------------------------------ queued writes

    def add_history(self, row: dict[str, Any]) -> None:
        self.history_rows.append(row)

    def add_outbox(self, row: dict[str, Any]) -> None:
        self.outbox_rows.setdefault(row["event_key"], row)

    def add_row(self, table: Table, row: dict[str, Any]) -> None:
        """A row inserted with the command's batched inserts (a Core executemany, no ORM
        unit of work). Every row of one table must have the same keys."""
        self.insert_rows.setdefault(table, []).append(row)

    def write_pending(self) -> None:
        """Flush the ORM, then the queued rows (batched Core inserts). Called once at the
        end; also before a read inside the command that must see them (e.g. history)."""
        session = self.session
        session.flush()  # the instances' versioned UPDATEs first (engine/store/db.py)
        if not (self.history_rows or self.outbox_rows or self.insert_rows):
            return
        # Core statements built once, on the session's connection (no ORM execution path)
        conn = session.connection()
        if self.history_rows:
            rows, self.history_rows = self.history_rows, []
            # the table, not the entity: one executemany with one column list; `data`
            # comes as its canonical JSON text (engine/audit/history.py)
            _executemany(conn, _HISTORY_INSERT, rows, encoded=("data",))
        if self.outbox_rows:
            rows_out = list(self.outbox_rows.values())
            self.outbox_rows = {}
            _executemany(conn, _outbox_insert(conn.dialect.name), rows_out)
        if self.insert_rows:
            tables, self.insert_rows = self.insert_rows, {}
            for table, table_rows in tables.items():
                _executemany(conn, _insert_of(table), table_rows)


def _executemany(conn: Connection, statement: Any, rows: list[dict[str, Any]],
                 encoded: tuple[str, ...] = ()) -> None:
    """Rows of one shape as one driver executemany (engine/store/driver_sql.py)."""
    driver_statement(conn, statement, list(rows[0]), encoded).executemany(conn, rows)


_HISTORY_INSERT = insert(_HISTORY)


@cache
def _insert_of(table: Table) -> Any:
    return insert(table)


@cache
def _outbox_insert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (event_key) DO NOTHING: a repeated event is a no-op without
    looking first (SQLite and PostgreSQL spell it the same way)."""
    make = sqlite_insert if dialect == "sqlite" else pg_insert
    return make(_OUTBOX).on_conflict_do_nothing(index_elements=["event_key"])


_current: ContextVar[CommandContext | None] = ContextVar("sanchika_command", default=None)


def context_of(session: Session) -> CommandContext | None:
    """The command a session belongs to (None for sessions opened outside the executor:
    readers, the lease, the delivery worker)."""
    return session.info.get(CONTEXT_KEY)


def current() -> CommandContext | None:
    return _current.get()


class CommandRunner:
    """Base of the facade's mixins (engine/commands/*.py): `with self.command(actor) as s`
    runs the block as one command (or joins the running one)."""

    executor: Executor

    @contextmanager
    def command(self, actor: User | None = None) -> Iterator[Session]:
        with self.executor.command(actor) as ctx:
            yield ctx.session


class Executor:
    """Opens commands. `listener_factories` make the per-command listeners."""

    def __init__(self, db: Database, listener_factories: list[Callable[[], Any]]):
        self.db = db
        self.listener_factories = listener_factories
        # Flush notifications reach the command's listeners; only write sessions carry
        # a context, so readers pay nothing.
        event.listen(db.write_sessions, "after_flush", _after_flush)
        # The session's identity map holds rows weakly: a file read in one helper and
        # dropped would be read again by the next. The command holds what it loaded (its
        # per-command cache of posts, files, instances...) until it ends.
        event.listen(db.write_sessions, "loaded_as_persistent", _loaded)

    @contextmanager
    def command(self, actor: User | None = None) -> Iterator[CommandContext]:
        outer = _current.get()
        if outer is not None:  # a command called from a command: one transaction
            yield outer
            return
        # While SQLite's write lock is held (BEGIN IMMEDIATE: from the first line of the
        # command to its commit) the sandbox does not run scripts: it raises ScriptPending,
        # which rolls this transaction back and so releases the lock before the script
        # runs (engine/bpm/script_pool.py).
        sqlite = self.db.write_engine.dialect.name == "sqlite"
        with script_pool.write_transaction(holds_lock=sqlite), \
                self.db.transaction() as session:
            ctx = CommandContext(session=session, actor=actor, now=utcnow(),
                                 listeners=[make() for make in self.listener_factories])
            session.info[CONTEXT_KEY] = ctx
            session.info[INSERTED_HOOK] = _inserted
            token = _current.set(ctx)
            try:
                yield ctx
                ctx.write_pending()
                for listener in ctx.listeners:
                    hook = getattr(listener, "before_commit", None)
                    if hook is not None:
                        hook(ctx)
            finally:
                _current.reset(token)
        for listener in ctx.listeners:
            hook = getattr(listener, "after_commit", None)
            if hook is not None:
                hook(ctx)
        for callback in ctx.after_commit:
            callback()


# Scripts one call of the facade may run before it gives up (each is one more attempt).
MAX_SCRIPT_ROUNDS = 20


def scripts_outside_the_lock(cls: type) -> type:
    """Wrap every public method of the facade so that a command that reached a script
    (`ScriptPending`, its transaction rolled back, so the write lock released) has the
    script run in a worker with no transaction open, then runs again from the start and
    finds the script's kept result. Only the outermost call retries: a command called from
    a command lets the exception pass up to it."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        if inspect.isfunction(member):
            setattr(cls, name, _retrying(member))
    return cls


def _retrying(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _current.get() is not None or script_pool.in_write_transaction():
            return method(*args, **kwargs)
        ran: set[str] = set()
        for _ in range(MAX_SCRIPT_ROUNDS):
            try:
                return method(*args, **kwargs)
            except script_pool.ScriptPending as pending:
                if pending.script in ran:
                    break  # its data changed between attempts: run the scripts inline
                ran.add(pending.script)
                run_pending(pending)
        with script_pool.scripts_inline():  # bounded by the worker's limits all the same
            return method(*args, **kwargs)

    return wrapper


def run_pending(pending: script_pool.ScriptPending) -> None:
    """Run the script that a rolled-back command reached; its result (or failure) is kept
    by the pool for the command's next attempt."""
    # a failure is kept as well: the next attempt records it against the task
    with contextlib.suppress(script_pool.ScriptFailed):
        script_pool.default_pool().run(pending.script, pending.data)


def _loaded(session: Session, obj: Any) -> None:
    ctx = session.info.get(CONTEXT_KEY)
    if ctx is not None:
        ctx.loaded.append(obj)


def _inserted(session: Session, objects: list[Any]) -> None:
    """New rows a flush wrote outside the ORM's unit of work (engine/store/db.py)."""
    _tell(session, "inserted", objects)


def _after_flush(session: Session, _flush_context: Any) -> None:
    _tell(session, "flushed")


def _tell(session: Session, hook_name: str, *args: Any) -> None:
    """Call the hook of that name on each listener of the session's command that has one."""
    ctx = session.info.get(CONTEXT_KEY)
    if ctx is None:
        return
    for listener in ctx.listeners:
        hook = getattr(listener, hook_name, None)
        if hook is not None:
            hook(ctx, *args)
