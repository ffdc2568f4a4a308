"""Upgrading a database that already holds an organisation: SQLite's table rebuilds
("batch" migrations) must not trip over the rows that reference the rebuilt table."""

from __future__ import annotations

from sqlalchemy import text

from engine.store import schema
from engine.store.db import Database


def test_upgrade_with_referencing_rows(settings):
    db = Database(settings.database_url)  # the engine the service uses (SQLite: FKs on)
    engine = db.write_engine
    try:
        schema.upgrade(engine, "0012_dak_exchange")  # before the offices migration
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO departments (id, code, name) VALUES (1, 'D', 'Dept')"))
            conn.execute(text("INSERT INTO sections (id, department_id, code, name) "
                              "VALUES (1, 1, 'S', 'Section')"))
            conn.execute(text("INSERT INTO posts (id, code, title, section_id, can_approve, "
                              "rank) VALUES (1, 'P', 'Post', 1, false, 1)"))
        schema.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT section_id FROM posts")).scalar_one() == 1
            assert conn.execute(text("SELECT office_id FROM sections")).scalar_one() is None
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        db.dispose()


def test_the_newest_version_of_each_process_starts_out_current(settings):
    db = Database(settings.database_url)
    engine = db.write_engine
    try:
        schema.upgrade(engine, "0018_cal_office_calendar")  # before versions under control
        with engine.begin() as conn:
            for i, (pid, version) in enumerate((("a", 1), ("a", 2), ("b", 1)), start=1):
                conn.execute(text(
                    "INSERT INTO process_definitions (id, process_id, version, content_hash, "
                    "bpmn_xml, meta, deployed_at) VALUES (:i, :p, :v, :h, '<x/>', '{}', "
                    "CURRENT_TIMESTAMP)"), {"i": i, "p": pid, "v": version, "h": f"h{i}"})
            conn.execute(text("INSERT INTO instances (id, definition_id, process_id, status, "
                              "version, started_at, event_count) "
                              "VALUES (1, 1, 'a', 'running', 1, CURRENT_TIMESTAMP, 0)"))
        schema.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT process_id, version, is_current, suspended FROM "
                                     "process_definitions ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [("a", 1, False, False), ("a", 2, True, False),
                                                ("b", 1, True, False)]
            assert conn.execute(text("SELECT definition_id FROM instances")).scalar_one() == 1
    finally:
        db.dispose()
