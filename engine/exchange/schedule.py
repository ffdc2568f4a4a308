"""Delivery of the exchange outbox as a durable APScheduler job of the lease holder."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
EXCHANGE_JOB = "sanchika-exchange"
INTERVAL = 2.0  # seconds; each package waits for its own next attempt time


def install(jobs: Any, app: Any, key: str) -> None:
    jobs.add_job(f"{__name__}:exchange_job", "interval", seconds=INTERVAL, id=EXCHANGE_JOB,
                 args=[key], replace_existing=True, next_run_time=datetime.now(UTC))


def exchange_job(app_key: str) -> None:
    from engine.ops.scheduler import _schedulers

    keeper = _schedulers.get(app_key)
    if keeper is None or not keeper.lease.held:
        return
    sent = keeper.app.deliver_exchange()
    if sent:
        log.info("delivered %d package(s) to partners", sent)
