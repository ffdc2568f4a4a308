"""Background jobs of a running server, kept by APScheduler in the main database.

The timers themselves are rows in `timers` (written in the action's transaction, indexed
by due time); the durable APScheduler job sweeps them. Firing runs under the instance's
version check, so two sweepers never fire one timer twice.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from . import backup_schedule
from .services import Sanchika

log = logging.getLogger(__name__)
SWEEP_JOB = "sanchika-timer-sweep"
_apps: dict[str, Sanchika] = {}


def sweep_timers(app_key: str) -> None:
    app = _apps.get(app_key)
    if app is None:
        return
    fired = app.fire_due_timers()
    if fired:
        log.info("fired timers of %d instance(s)", fired)


def start(app: Sanchika, interval_seconds: float = 0.25) -> BackgroundScheduler:
    key = app.settings.database_url
    _apps[key] = app
    store = SQLAlchemyJobStore(url=app.settings.database_url, tablename="scheduler_jobs")
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.start()
    scheduler.add_job(f"{__name__}:sweep_timers", "interval", seconds=interval_seconds,
                      id=SWEEP_JOB, args=[key], replace_existing=True)
    backup_schedule.install(scheduler, app.settings)
    return scheduler
