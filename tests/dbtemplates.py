"""Test databases made by copying, not by migrating.

Running every Alembic migration and `create_demo` takes seconds; copying a finished database
takes milliseconds. So each test session (each pytest-xdist worker) builds two templates
once, the migrated schema ("schema") and the schema with the demo organisation ("demo"),
and every test gets a copy of one: on SQLite a file copy, on PostgreSQL
`CREATE DATABASE … TEMPLATE …`. The data folder the template was built with (keys,
uploads) is copied alongside."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.ops.demo import create_demo

KINDS = ("schema", "demo")


class Templates:
    """Builds each kind of template on first use and hands out copies of it."""

    def __init__(self, root: Path, pg_base: str | None, password: str):
        self.root = root
        self.pg_base: URL | None = make_url(pg_base) if pg_base else None
        self.password = password
        self._built: dict[str, Settings] = {}
        self._numbers = itertools.count(1)
        self._admin_engine: Engine | None = None

    # ------------------------------------------------------------ databases of one test

    def new_url(self, tmp_path: Path) -> str:
        """Where a test's database goes; nothing is created yet (see `create_empty`)."""
        if self.pg_base is None:
            return f"sqlite:///{tmp_path / 'sanchika.db'}"
        name = f"{self.pg_base.database}_{next(self._numbers)}"
        return self.pg_base.set(database=name).render_as_string(hide_password=False)

    def create_empty(self, url: str) -> None:
        """An empty database at url (SQLite creates its file on first connection)."""
        if self.pg_base is not None:
            self._admin(f'CREATE DATABASE "{make_url(url).database}"')

    def copy(self, kind: str, settings: Settings) -> None:
        """Fill settings' (not yet created) database and data folder from a template."""
        template = self._template(kind)
        if self.pg_base is None:
            source = Path(make_url(template.database_url).database or "")
            target = Path(make_url(settings.database_url).database or "")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        else:
            self._admin(f'CREATE DATABASE "{make_url(settings.database_url).database}" '
                        f'TEMPLATE "{make_url(template.database_url).database}"')
        shutil.copytree(template.data_dir, settings.data_dir, dirs_exist_ok=True)

    def drop(self, url: str) -> None:
        if self.pg_base is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    # ------------------------------------------------------------ the templates

    def _template(self, kind: str) -> Settings:
        if kind not in KINDS:
            raise ValueError(f"no template of kind {kind!r}")
        if kind not in self._built:
            self._built[kind] = self._build(kind)
        return self._built[kind]

    def _build(self, kind: str) -> Settings:
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        if self.pg_base is None:
            url = f"sqlite:///{folder / 'template.db'}"
        else:
            name = f"{self.pg_base.database}_tpl_{kind}"
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{name}"')
            url = self.pg_base.set(database=name).render_as_string(hide_password=False)
        settings = Settings.from_env({
            "SANCHIKA_DATA_DIR": str(folder / "data"),
            "SANCHIKA_DATABASE_URL": url,
            "SANCHIKA_SECRET_KEY": "test-secret",
        })
        app = Sanchika(settings, handlers.registry)
        try:
            app.init()
            if kind == "demo":
                create_demo(app, self.password)
        finally:
            app.db.dispose()  # a PostgreSQL template must have no connections
        if self.pg_base is None:  # everything into the main file, so one file is the copy
            conn = sqlite3.connect(make_url(url).database or "")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
        return settings

    def close(self) -> None:
        if self.pg_base is not None:
            for kind in self._built:
                self._admin(f'DROP DATABASE IF EXISTS "{self.pg_base.database}_tpl_{kind}" '
                            "WITH (FORCE)")
        self._built.clear()

        if self._admin_engine is not None:
            self._admin_engine.dispose()

    def _admin(self, statement: str) -> None:
        assert self.pg_base is not None
        if self._admin_engine is None:
            self._admin_engine = create_engine(self.pg_base, isolation_level="AUTOCOMMIT",
                                               poolclass=NullPool)
        with self._admin_engine.connect() as conn:
            conn.execute(text(statement))
