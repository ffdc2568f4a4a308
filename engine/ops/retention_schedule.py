"""The daily prune (engine/ops/retention.py): a durable APScheduler cron job run by the
lease holder (engine/ops/scheduler.py), at SANCHIKA_RETENTION_SCHEDULE (e.g. "02:30",
office time; "off" turns it off)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from engine.domain.org import OFFICE_TZ

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.app import Sanchika

log = logging.getLogger(__name__)
JOB = "sanchika-retention"
_apps: dict[str, tuple[Sanchika, Callable[[], bool]]] = {}


def parse(value: str) -> tuple[int, int] | None:
    """'02:30' -> (2, 30); 'off' -> None; ValueError naming the setting."""
    text = (value or "").strip().lower()
    if text == "off":
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"SANCHIKA_RETENTION_SCHEDULE: a time of day such as '02:30', or "
                         f"'off', not {value!r}")
    return int(match[1]), int(match[2])


def install(scheduler: BaseScheduler, app: Sanchika, stop: Callable[[], bool]) -> None:
    """`stop`: true once the server shuts down (the prune stops at its next batch)."""
    when = parse(app.settings.retention_schedule)
    if when is None:
        if scheduler.get_job(JOB) is not None:
            scheduler.remove_job(JOB)
        return
    key = app.settings.database_url
    _apps[key] = (app, stop)
    hour, minute = when
    scheduler.add_job(f"{__name__}:run", CronTrigger(hour=hour, minute=minute,
                                                     timezone=OFFICE_TZ),
                      id=JOB, args=[key], replace_existing=True)


def run(key: str) -> None:
    found = _apps.get(key)
    if found is None:
        return
    app, stop = found
    try:
        result = app.prune(stop=stop)
    except Exception:  # the job must survive; tomorrow's run tries again
        log.exception("retention: prune failed")
        return
    log.info("retention: pruned %s", result["removed"],
             extra={"event": "pruned", **result["removed"]})
