"""The second data centre as docs/second-site.md sets it up: a PostgreSQL streaming
replica built with `pg_basebackup -R`, kept current while Sanchika writes on the primary,
then promoted and used by Sanchika as the new primary.

Both servers are throwaway ones of this test's own (initdb in a temporary folder, free
ports), so the test does not depend on, or disturb, the machine's PostgreSQL set-up."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

import handlers
from engine.app import Sanchika
from engine.audit.verify import verify_database
from engine.config import Settings
from engine.ops.backup import figures
from engine.ops.demo import create_demo
from tests import pgcluster
from tests.conftest import PASSWORD
from tests.flow import inbox_task


@pytest.fixture
def servers() -> Iterator[tuple[pgcluster.Cluster, pgcluster.Cluster]]:
    why = pgcluster.can_run()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the replica test must run in CI: {why}")
        pytest.skip(why)
    root = pgcluster.workspace()
    primary = pgcluster.Cluster(root, "primary")
    replica = pgcluster.Cluster(root, "replica")
    try:
        yield primary, replica
    finally:
        for cluster in (replica, primary):
            try:
                cluster.stop("immediate")  # thrown away next: no shutdown checkpoint
            except Exception as exc:  # keep stopping the other one; say what happened
                print(f"stopping {cluster.name}: {exc}")
        shutil.rmtree(root, ignore_errors=True)


def scalar(url: str, sql: str, **params):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def service(url: str, tmp_path, name: str) -> Sanchika:
    return Sanchika(Settings.from_env({"SANCHIKA_DATABASE_URL": url,
                                       "SANCHIKA_DATA_DIR": str(tmp_path / name),
                                       "SANCHIKA_SECRET_KEY": "replica-test"}),
                    handlers.registry)


def wait_for(check, what: str, timeout: float = 60.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def test_streaming_replica_follows_and_takes_over(servers, tmp_path):
    primary, replica = servers
    primary.initdb().start()
    admin = create_engine(primary.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE sanchika"))
    admin.dispose()
    app = service(primary.url("sanchika"), tmp_path, "primary")
    app.init()
    create_demo(app, PASSWORD)

    replica.base_backup_of(primary).start()
    standby = replica.url("sanchika")
    assert scalar(standby, "SELECT pg_is_in_recovery()") is True
    wait_for(lambda: scalar(primary.url(), "SELECT count(*) FROM pg_stat_replication "
                                           "WHERE state = 'streaming'") == 1,
             "the replica to stream")

    # Sanchika writes on the primary: letters diarised, a file opened and forwarded
    clerk = app.authenticate("clerk", PASSWORD)
    receipts = [app.diarise(clerk, {"sender": "Collectorate", "subject": f"Letter {n}"})
                for n in range(20)]
    opened = app.open_file(clerk, "Second site drill", "11011", receipt_id=receipts[0]["id"])
    task = inbox_task(app, clerk, file_id=opened["id"])
    app.act(clerk, task["id"], {"action": "forward", "to": "so", "note": "Put up."})
    lsn = scalar(primary.url("sanchika"), "SELECT pg_current_wal_lsn()::text")
    lag = wait_for(lambda: scalar(standby, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), "
                                           "CAST(:lsn AS pg_lsn)) >= 0", lsn=lsn),
                   "the replica to replay the primary's last write")
    print(f"\nreplica caught up {lag * 1000:.0f} ms after the last commit")

    # the replica holds exactly what the primary holds, and Sanchika reads it there
    assert figures(standby) == figures(primary.url("sanchika"))
    reader = service(standby, tmp_path, "replica")
    so = reader.authenticate("so", PASSWORD)
    assert [r["diary_no"] for r in receipts] == [
        reader.receipt(clerk, r["id"])["diary_no"] for r in receipts]
    assert any(t.get("file_id") == opened["id"] for t in reader.inbox(so))
    with pytest.raises(DBAPIError, match="read-only"):
        reader.diarise(clerk, {"sender": "Nobody", "subject": "refused on a standby"})
    reader.db.dispose()

    # failover: the primary goes away, the replica is promoted, Sanchika moves over
    primary.stop()
    assert scalar(standby, "SELECT pg_promote(wait => true)") is True
    assert scalar(standby, "SELECT pg_is_in_recovery()") is False
    promoted = service(standby, tmp_path, "promoted")
    clerk = promoted.authenticate("clerk", PASSWORD)
    after = promoted.diarise(clerk, {"sender": "Collectorate", "subject": "After failover"})
    assert after["diary_no"] not in {r["diary_no"] for r in receipts}
    so = promoted.authenticate("so", PASSWORD)
    task = inbox_task(promoted, so, file_id=opened["id"])
    promoted.act(so, task["id"], {"action": "forward", "to": "us"})
    assert verify_database(promoted.db).problems == []
    promoted.db.dispose()
    app.db.dispose()
