"""The reading of stored PDFs as a durable APScheduler job, run by the scheduler lease
holder only (engine/ops/scheduler.py installs it next to the timer sweep). Each run reads
for at most RUN_BUDGET seconds; the next run goes on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
OCR_JOB = "sanchika-ocr"
RUN_BUDGET = 120.0


def install(jobs: Any, app: Any, key: str) -> None:
    seconds = app.settings.ocr_seconds
    if seconds <= 0:
        if jobs.get_job(OCR_JOB) is not None:
            jobs.remove_job(OCR_JOB)
        return
    jobs.add_job(f"{__name__}:ocr_job", "interval", seconds=seconds, id=OCR_JOB, args=[key],
                 replace_existing=True, next_run_time=datetime.now(UTC))


def ocr_job(app_key: str) -> None:
    """The durable job's target (referenced by name in the job store)."""
    from engine.ops.scheduler import _schedulers  # the lease keepers of this process

    keeper = _schedulers.get(app_key)
    if keeper is None or not keeper.lease.held:
        return
    # stop between pages when the server shuts down or loses the lease
    finished = keeper.app.read_scans(
        RUN_BUDGET, lambda: keeper.stopping or not keeper.lease.held)
    if finished:
        log.info("read %d stored document(s)", finished)
