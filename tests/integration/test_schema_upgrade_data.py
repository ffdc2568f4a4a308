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
