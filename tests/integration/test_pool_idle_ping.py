"""PostgreSQL: a pooled connection idle for a while is tested before use, and a dead one
is replaced without the request seeing an error; one back in the pool a moment ago is
used untested (engine/store/db.py, _ping_when_idle)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from engine.store import db as db_mod


def _backend_pid(service) -> int:
    with service.db.reader(autocommit=True) as s:
        return int(s.scalar(text("SELECT pg_backend_pid()")))


def _count_pings(service, monkeypatch) -> list[int]:
    pings: list[int] = []
    dialect = service.db.engine.dialect
    real = dialect.do_ping

    def counted(dbapi_conn) -> bool:
        pings.append(1)
        return real(dbapi_conn)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


def test_an_idle_connection_that_died_is_replaced(service, monkeypatch):
    if service.db.is_sqlite:
        pytest.skip("PostgreSQL's connection pool only")
    service.db.engine.dispose()
    pid = _backend_pid(service)  # now the pool's one idle connection
    killer = create_engine(service.db.url)
    try:
        with killer.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()
    pings = _count_pings(service, monkeypatch)
    monkeypatch.setattr(db_mod, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend_pid(service) != pid  # tested on checkout and replaced: no error
    assert pings


def test_a_connection_back_in_the_pool_a_moment_ago_is_not_tested(service, monkeypatch):
    if service.db.is_sqlite:
        pytest.skip("PostgreSQL's connection pool only")
    monkeypatch.setattr(db_mod, "PING_AFTER_IDLE_SECONDS", 3600.0)
    first = _backend_pid(service)
    pings = _count_pings(service, monkeypatch)
    assert _backend_pid(service) == first
    assert pings == []
