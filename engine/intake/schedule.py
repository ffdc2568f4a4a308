"""The mailbox poll as a durable APScheduler job, run by the scheduler lease holder only
(engine/ops/scheduler.py installs it next to the timer sweep)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
POLL_JOB = "sanchika-mail-poll"


def install(jobs: Any, app: Any, key: str) -> None:
    """Add (or drop) the poll job to match the configured mailboxes."""
    config = app.intake_config()
    if not config.mailboxes:
        if jobs.get_job(POLL_JOB) is not None:
            jobs.remove_job(POLL_JOB)
        return
    jobs.add_job(f"{__name__}:poll_job", "interval", seconds=config.poll_seconds,
                 id=POLL_JOB, args=[key], replace_existing=True,
                 next_run_time=datetime.now(UTC))


def poll_job(app_key: str) -> None:
    """The durable job's target (referenced by name in the job store)."""
    from engine.ops.scheduler import _schedulers  # the lease keepers of this process

    keeper = _schedulers.get(app_key)
    if keeper is None or not keeper.lease.held:
        return
    for result in keeper.app.poll_mailboxes():
        if result.taken or result.error:
            log.info("mailbox %s: %d mail(s) taken%s", result.mailbox, result.taken,
                     f"; error: {result.error}" if result.error else "")
