"""Shipping backups every N minutes: the job's function produces verifiable snapshots and
prunes, a failure is reported (not raised), and `scheduler.start` installs the durable job
when SANCHIKA_BACKUP_DIR is set and runs it at once."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.ops import backup_schedule, scheduler
from engine.ops.backup import check_snapshot, restore, snapshots
from tests.backup_fixtures import restore_target  # noqa: F401  (the `target` fixture)


def shipping(settings: Settings, dest, keep: int = 2, minutes: float = 15.0) -> Settings:
    return dataclasses.replace(settings, backup_dir=dest, backup_keep=keep,
                               backup_minutes=minutes)


def test_job_ships_verifiable_snapshots_and_prunes(demo, target, tmp_path):
    settings = shipping(demo.settings, tmp_path / "second-site", keep=2)
    for _ in range(3):
        status = backup_schedule.ship_now(settings)
        assert status["ok"] is True, status
    kept = snapshots(tmp_path / "second-site")
    assert len(kept) == 2
    assert status["last_success"]["snapshot"] == str(kept[-1])
    assert status["last_success"]["pruned"] == 1
    on_disk = json.loads((demo.settings.data_dir / "last_backup.json").read_text())
    assert on_disk == status
    for snap in kept:
        assert check_snapshot(snap)[1] == []
    done = restore(target, tmp_path / "second-site")
    assert done.snapshot == kept[-1]
    assert done.problems == []
    assert done.verify.problems == []


def test_failure_is_reported_and_the_last_success_kept(demo, tmp_path):
    good = backup_schedule.ship_now(shipping(demo.settings, tmp_path / "ok"))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backup folder should be")
    status = backup_schedule.ship_now(shipping(demo.settings, blocked))
    assert status["ok"] is False
    assert "FileExistsError" in status["error"] or "NotADirectoryError" in status["error"]
    assert status["last_success"] == good["last_success"]
    assert backup_schedule.read_status(demo.settings) == status


def test_serve_scheduler_installs_the_job_and_runs_it(settings, tmp_path):
    app = Sanchika(shipping(settings, tmp_path / "shipped", minutes=7), handlers.registry)
    app.init()
    jobs = scheduler.start(app)
    try:
        job = jobs.get_job(backup_schedule.JOB)
        assert job is not None
        assert job.trigger.interval == timedelta(minutes=7)
        status_file = app.settings.data_dir / backup_schedule.STATUS_FILE
        deadline = time.monotonic() + 60
        while not status_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        status = json.loads(status_file.read_text())
        assert status["ok"] is True, status
        assert check_snapshot(snapshots(tmp_path / "shipped")[-1])[1] == []
    finally:
        jobs.shutdown(wait=True)
    # started again without SANCHIKA_BACKUP_DIR: the stored job is removed
    plain = Sanchika(settings, handlers.registry)
    again = scheduler.start(plain)
    try:
        assert again.get_job(backup_schedule.JOB) is None
    finally:
        again.shutdown(wait=True)
        plain.db.dispose()
        app.db.dispose()
