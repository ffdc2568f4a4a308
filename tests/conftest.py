"""Shared fixtures. The whole suite runs against SQLite by default and against
PostgreSQL when SANCHIKA_TEST_DATABASE_URL names one (scripts/test does both)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, select, text

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.ops.demo import create_demo
from engine.store.models import User
from tests.clients import PASSWORD, AppClient, HttpClient
from tests.clock import Clock
from tests.dbtemplates import Templates

PG_URL = os.environ.get("SANCHIKA_TEST_DATABASE_URL")
# Test-only: one PBKDF2 round instead of scrypt (engine/domain/org.py). Set before any user
# is made, and inherited by the `sanchika` processes some tests start.
os.environ["SANCHIKA_TEST_CHEAP_HASH"] = "1"
DEMO_COPIED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A database of this test run's own on the PostgreSQL server, so concurrent runs
    (two checkouts, CI and a developer, xdist workers) never wipe each other's; the
    templates and per-test databases are named after it."""
    if not PG_URL:
        yield None
        return
    base = make_url(PG_URL)
    name = f"sanchika_test_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, pg_database: str | None
              ) -> Iterator[Templates]:
    """The migrated and the demo-filled database, built once, copied per test."""
    made = Templates(tmp_path_factory.mktemp("templates"), pg_database, PASSWORD)
    yield made
    made.close()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, templates: Templates
             ) -> Iterator[Settings]:
    """A test's settings. Its database is created by `service` (a copy of a template);
    a test that uses the settings alone gets an empty database."""
    url = templates.new_url(tmp_path)
    if "service" not in request.fixturenames:
        templates.create_empty(url)
    yield Settings.from_env({
        "SANCHIKA_DATA_DIR": str(tmp_path / "data"),
        "SANCHIKA_DATABASE_URL": url,
        "SANCHIKA_SECRET_KEY": "test-secret",
    })
    templates.drop(url)


@pytest.fixture
def service(request: pytest.FixtureRequest, settings: Settings, templates: Templates
            ) -> Iterator[Sanchika]:
    """The facade on a migrated database with the shipped processes deployed (what
    `Sanchika.init()` makes); with the demo organisation in it when the test uses `demo`."""
    with_demo = "demo" in request.fixturenames
    templates.copy("demo" if with_demo else "schema", settings)
    request.node.stash[DEMO_COPIED] = with_demo
    app = Sanchika(settings, handlers.registry)
    yield app
    app.db.dispose()


@pytest.fixture
def demo(request: pytest.FixtureRequest, service: Sanchika) -> Sanchika:
    if not request.node.stash.get(DEMO_COPIED, False):  # asked for late (getfixturevalue)
        create_demo(service, PASSWORD)
    return service


@pytest.fixture
def users(demo: Sanchika) -> dict:
    with demo.db.reader() as s:
        return {u.username: u for u in s.scalars(select(User))}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(demo: Sanchika) -> Iterator[str]:
    """The real WSGI server (waitress, as `sanchika serve` runs it) on a free port."""
    from waitress.server import create_server

    from web.app import create_app

    app = create_app(demo.settings, demo)
    port = _free_port()
    srv = create_server(app, host="127.0.0.1", port=port, threads=8)
    stop = threading.Event()

    def loop() -> None:  # srv.run() cannot be stopped cleanly from another thread
        while not stop.is_set():
            srv.asyncore.loop(timeout=0.05, map=srv._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    stop.set()
    thread.join(timeout=5)
    srv.close()


@pytest.fixture
def web_app(demo: Sanchika) -> Flask:
    from web.app import create_app

    return create_app(demo.settings, demo)


@pytest.fixture
def api(web_app: Flask) -> AppClient:
    """The JSON API in-process (Flask's test client): what the API tests use."""
    return AppClient(web_app)


@pytest.fixture
def http_api(server: str) -> HttpClient:
    """The JSON API over a real socket (waitress): for the few end-to-end tests."""
    return HttpClient(server)


@pytest.fixture
def quick(demo: Sanchika) -> Iterator[Sanchika]:
    """Every time limit is one second (SANCHIKA_SLA_DEFAULT); tests move the `clock` past
    it. The demo keeps its normal limits, so its sample items are never overdue."""
    fast = Settings(**{**demo.settings.__dict__, "sla_default": "PT1S"})
    app = Sanchika(fast, handlers.registry)
    with app.db.reader() as s:  # parse the processes now, not inside the timed second
        for process_id in ("file_approval", "dak_receipt"):
            app.definitions.loaded(app.definitions.latest(s, process_id))
    yield app
    app.db.dispose()


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Time stands still for the test until it calls clock.advance(...) (tests/clock.py)."""
    running = Clock().start()
    yield running
    running.stop()
