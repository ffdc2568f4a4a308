"""Driver statements (engine/store/driver_sql.py) write what Core writes: the same rows
through both paths read back the same, column for column, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, Text, bindparam, insert, select, update
from sqlalchemy import cast as sql_cast

from engine.app import Sanchika
from engine.store.driver_sql import driver_statement
from engine.store.models import HistoryEvent, Instance, OpenTask

OPEN_TASKS = cast(Table, OpenTask.__table__)
HISTORY = cast(Table, HistoryEvent.__table__)
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def cast_text(column: Any) -> Any:
    return sql_cast(column, Text)


def _instance_id(app: Sanchika) -> int:
    with app.db.reader() as s:
        found = s.scalar(select(Instance.id).limit(1))
    assert found is not None
    return found


def _task(instance_id: int, uuid: str) -> dict[str, Any]:
    # an aware datetime in another zone, a boolean, NULLs: what the bind processors convert
    ist = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    return {"instance_id": instance_id, "task_uuid": uuid, "task_spec": "review",
            "name": "समीक्षा", "kind": "file", "file_id": None, "receipt_id": None,
            "post_id": 1, "actions": "forward,approve", "priority": "Urgent",
            "received_at": AT, "due_at": ist, "opened_at": AT, "closed_at": None,
            "closed_by": None, "action": None, "parked": True, "reason": None,
            "warn_at": None}


def _rows(app: Sanchika, table: Table, where: Any) -> list[dict[str, Any]]:
    with app.db.reader() as s:
        return [dict(r._mapping) for r in s.execute(select(table).where(where)
                                                     .order_by(table.c.id))]


def test_an_insert_with_returning_matches_core(demo: Sanchika) -> None:
    instance_id = _instance_id(demo)
    statement = insert(OPEN_TASKS).returning(OPEN_TASKS.c.id)
    with demo.db.transaction() as s:
        conn = s.connection()
        core_id = conn.execute(statement, _task(instance_id, "core")).scalar()
        row = _task(instance_id, "driver")
        driver_id = driver_statement(conn, statement, list(row)).execute(conn, row).scalar()
    assert isinstance(driver_id, int)
    assert driver_id != core_id
    core, driver = _rows(demo, OPEN_TASKS, OPEN_TASKS.c.id.in_([core_id, driver_id]))
    for value in (core, driver):
        value.pop("id")
        value.pop("task_uuid")
    assert driver == core
    assert driver["parked"] is True
    assert driver["received_at"] == AT


def test_executemany_fills_python_side_defaults_and_encodes_json(demo: Sanchika) -> None:
    instance_id = _instance_id(demo)
    data = {"note": "अनुमोदन हेतु", "n": 3, "nested": {"ok": True}}

    def event(seq: int) -> dict[str, Any]:  # no "at": the column's Python-side default
        return {"instance_id": instance_id, "seq": seq, "kind": "x", "actor": "clerk",
                "task_spec": None, "data": data, "prev_hash": "0" * 64, "hash": "1" * 64}

    with demo.db.transaction() as s:
        conn = s.connection()
        conn.execute(insert(HISTORY), [event(900_001), event(900_002)])
        rows = [event(900_003), event(900_004)]
        driver_statement(conn, insert(HISTORY), list(rows[0])).executemany(conn, rows)
    written = _rows(demo, HISTORY, HISTORY.c.seq > 900_000)
    assert [r["seq"] for r in written] == [900_001, 900_002, 900_003, 900_004]
    assert all(r["data"] == data for r in written)
    assert all(r["at"] is not None and abs(r["at"] - written[0]["at"]) < timedelta(minutes=5)
               for r in written)


def test_encoded_values_are_sent_as_they_are(demo: Sanchika) -> None:
    """History data goes in as the canonical JSON text its hash was taken over."""
    instance_id = _instance_id(demo)
    text = '{"n":3,"note":"अनुमोदन हेतु"}'
    row = {"instance_id": instance_id, "seq": 900_101, "kind": "x", "at": AT, "actor": None,
           "task_spec": None, "data": text, "prev_hash": "0" * 64, "hash": "1" * 64}
    with demo.db.transaction() as s:
        conn = s.connection()
        driver_statement(conn, insert(HISTORY), list(row), encoded=("data",)).executemany(
            conn, [row])
        stored = conn.execute(select(cast_text(HISTORY.c.data))
                              .where(HISTORY.c.seq == 900_101)).scalar()
    assert stored == text
    (read,) = _rows(demo, HISTORY, HISTORY.c.seq == 900_101)
    assert read["data"] == {"n": 3, "note": "अनुमोदन हेतु"}


def test_an_update_counts_its_rows(demo: Sanchika) -> None:
    instance_id = _instance_id(demo)
    statement = update(OPEN_TASKS).where(OPEN_TASKS.c.task_uuid == bindparam("b_uuid")).values(
        parked=bindparam("v_parked"), closed_at=bindparam("v_closed"))
    with demo.db.transaction() as s:
        conn = s.connection()
        conn.execute(insert(OPEN_TASKS), _task(instance_id, "to-close"))
        prepared = driver_statement(conn, statement)
        hit = prepared.execute(conn, {"b_uuid": "to-close", "v_parked": False, "v_closed": AT})
        miss = prepared.execute(conn, {"b_uuid": "nowhere", "v_parked": False, "v_closed": AT})
    assert (hit.rowcount, miss.rowcount) == (1, 0)
    (row,) = _rows(demo, OPEN_TASKS, OPEN_TASKS.c.task_uuid == "to-close")
    assert row["parked"] is False
    assert row["closed_at"] == AT


def test_literal_values_inside_an_expression_are_sent(demo: Sanchika) -> None:
    """`name || ' (copy)'`: the literal is a bound value the statement carries itself."""
    instance_id = _instance_id(demo)
    statement = update(OPEN_TASKS).where(OPEN_TASKS.c.task_uuid == bindparam("b_uuid")).values(
        name=OPEN_TASKS.c.name + " (प्रति)", actions=bindparam("v_actions"))
    with demo.db.transaction() as s:
        conn = s.connection()
        conn.execute(insert(OPEN_TASKS), _task(instance_id, "literal"))
        driver_statement(conn, statement).execute(conn, {"b_uuid": "literal",
                                                          "v_actions": "close"})
    (row,) = _rows(demo, OPEN_TASKS, OPEN_TASKS.c.task_uuid == "literal")
    assert (row["name"], row["actions"]) == ("समीक्षा (प्रति)", "close")


def test_expanding_lists_are_refused(demo: Sanchika) -> None:
    statement = update(OPEN_TASKS).where(
        OPEN_TASKS.c.id.in_(bindparam("ids", expanding=True))).values(parked=True)
    with demo.db.reader() as s, pytest.raises(ValueError, match="expanding"):
        driver_statement(s.connection(), statement)
