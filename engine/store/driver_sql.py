"""The statements every action sends, run on the database driver.

A Core statement run through `Connection.execute` is looked up in the compiled cache, its
parameters are checked and converted, and a result object is set up around the cursor:
about 60-80 us per statement on a 2-core machine, more than SQLite takes to run it. A
`DriverStatement` is compiled once per dialect and column set; each run converts the values
with the compiled statement's own bind processors (the same conversions Core applies: UTC
datetimes, booleans, JSON) and hands the SQL text to `Connection.exec_driver_sql`. That is
still the connection's own path: its transaction, its events (statement counters, logging)
and SQLAlchemy's wrapping of driver errors (IntegrityError and the rest) all apply.

Only for fixed statements of plain bound values: no expanding IN lists, no SQL expressions
built per call. `tests/integration/test_driver_sql.py` writes the same rows both ways and
compares them on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import ColumnDefault, Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for one dialect: its SQL text, the order of its bound values
    (positional drivers such as sqlite3) or None (named: psycopg), and their converters."""

    sql: str
    positions: tuple[str, ...] | None
    processors: Mapping[str, Callable[[Any], Any]]
    # columns whose Python-side default Core works out when no value is given
    defaults: Mapping[str, Callable[[], Any]]
    # worked out once from the above: the values in statement order (one C call) and the
    # converters by position, or by name for a named driver
    _take: Callable[[Mapping[str, Any]], Any] = field(init=False, repr=False, compare=False)
    _convert_at: tuple[tuple[int, Callable[[Any], Any]], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions = self.positions or ()
        take: Callable[[Mapping[str, Any]], Any]
        if len(positions) > 1:
            take = itemgetter(*positions)
        else:  # itemgetter of one key gives the value, not a tuple of it
            take = lambda values: tuple(values[key] for key in positions)  # noqa: E731
        object.__setattr__(self, "_take", take)
        object.__setattr__(self, "_convert_at", tuple(
            (i, self.processors[key]) for i, key in enumerate(positions)
            if key in self.processors))

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The values as the driver takes them: a tuple in statement order, or a dict."""
        if self.defaults:
            values = {**{key: make() for key, make in self.defaults.items()
                         if key not in values}, **values}
        if self.positions is not None:
            if not self.positions:
                return ()
            if not self._convert_at:
                return self._take(values)
            ordered = list(self._take(values))
            for i, convert in self._convert_at:
                ordered[i] = convert(ordered[i])
            return tuple(ordered)
        processors = self.processors
        return {key: processors[key](value) if key in processors else value
                for key, value in values.items()}

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        return conn.exec_driver_sql(self.sql, self.parameters(values))

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]
                    ) -> CursorResult[Any]:
        """One driver `executemany` for rows that all have the same keys."""
        return conn.exec_driver_sql(self.sql, [self.parameters(row) for row in rows])


def driver_statement(conn: Connection, statement: ClauseElement,
                     keys: Sequence[str] | None = None, encoded: Sequence[str] = ()
                     ) -> DriverStatement:
    """`statement` compiled for the connection's dialect (an INSERT with `keys`: those
    columns), built once per dialect, statement and keys. `encoded`: bound names whose
    values come already converted (JSON as its text), sent without their converter."""
    return _compiled(conn.dialect, statement, tuple(keys) if keys is not None else None,
                     tuple(encoded))


@lru_cache(maxsize=256)
def _compiled(dialect: Dialect, statement: ClauseElement, keys: tuple[str, ...] | None,
              encoded: tuple[str, ...] = ()) -> DriverStatement:
    compiled = cast(SQLCompiler, statement.compile(
        dialect=dialect, column_keys=list(keys) if keys is not None else None))
    if (compiled.literal_execute_params or compiled.post_compile_params
            or compiled.escaped_bind_names):
        raise ValueError("a driver statement takes plain bound values under their own "
                         f"names only (no expanding IN lists): {compiled}")
    # the compiled statement's converters per bound name, as Core applies them
    # (a private attribute of SQLAlchemy's compiler: the round-trip test catches a change)
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, process in compiled._bind_processors.items():
        if not callable(process):  # per-element converters of a tuple value
            raise ValueError(f"a driver statement takes no tuple values: {name}")
        if name not in encoded:
            processors[name] = process
    defaults: dict[str, Callable[[], Any]] = {}
    for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
        default = column.default
        if not isinstance(default, ColumnDefault):
            raise ValueError(f"column {column.key}: no Python-side default to work out")
        defaults[column.key] = _default_maker(default)
    # values the statement carries itself (a literal in an expression: `body || '\n' || :b`)
    for bind in compiled.binds.values():
        if not bind.required and bind.callable is None:
            defaults.setdefault(compiled.bind_names[bind], _constant(bind.value))
    positions = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    return DriverStatement(str(compiled), positions, processors, defaults)


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _default_maker(default: ColumnDefault) -> Callable[[], Any]:
    if default.is_callable:  # SQLAlchemy wraps it to take an execution context
        make = cast(Callable[[Any], Any], default.arg)
        return lambda: make(None)
    value = default.arg
    return lambda: value
