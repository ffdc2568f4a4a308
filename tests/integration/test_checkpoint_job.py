"""The scheduled checkpoint: `sanchika serve`'s scheduler takes one every
SANCHIKA_CHECKPOINT_MINUTES."""

from __future__ import annotations

import time

from sqlalchemy import func, select

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.ops import scheduler
from engine.store.audit_models import Checkpoint


def test_scheduler_takes_checkpoints(settings, users):
    fast = Settings(**{**settings.__dict__, "checkpoint_minutes": 0.01})  # 0.6 s
    app = Sanchika(fast, handlers.registry)
    app.open_file(users["clerk"], "Scheduled", "11011")
    jobs = scheduler.start(app, interval_seconds=5)
    try:
        assert jobs.get_job(scheduler.CHECKPOINT_JOB) is not None
        deadline = time.monotonic() + 60  # a deadline, not a timing claim
        count = 0
        while time.monotonic() < deadline and count < 2:
            time.sleep(0.1)
            with app.db.reader() as s:
                count = s.scalar(select(func.count()).select_from(Checkpoint))
        assert count >= 2
    finally:
        jobs.shutdown(wait=True)
    assert app.verify_report().problems == []
    app.db.dispose()
