"""The weekly review's schedule: a durable APScheduler cron job run by the lease holder
(engine/ops/scheduler.py), at SANCHIKA_REVIEW_SCHEDULE (e.g. "mon 09:30", office time)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from engine.domain.org import OFFICE_TZ

if TYPE_CHECKING:
    from engine.app import Sanchika

log = logging.getLogger(__name__)
JOB = "sanchika-weekly-review"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_apps: dict[str, Sanchika] = {}


def parse(value: str) -> tuple[str, int, int] | None:
    """'mon 09:30' -> ('mon', 9, 30); 'off' -> None; ValueError naming the setting."""
    text = (value or "").strip().lower()
    if text == "off":
        return None
    match = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})", text)
    if not match or int(match[2]) > 23 or int(match[3]) > 59:
        raise ValueError(f"SANCHIKA_REVIEW_SCHEDULE: a day and a time such as 'mon 09:30', "
                         f"or 'off', not {value!r}")
    return match[1], int(match[2]), int(match[3])


def install(scheduler: BaseScheduler, app: Sanchika) -> None:
    when = parse(app.settings.review_schedule)
    if when is None:
        if scheduler.get_job(JOB) is not None:
            scheduler.remove_job(JOB)
        return
    key = app.settings.database_url
    _apps[key] = app
    day, hour, minute = when
    scheduler.add_job(f"{__name__}:run", CronTrigger(day_of_week=day, hour=hour,
                                                     minute=minute, timezone=OFFICE_TZ),
                      id=JOB, args=[key], replace_existing=True)


def run(key: str) -> None:
    app = _apps.get(key)
    if app is None:
        return
    try:
        result = app.send_weekly_review()
    except Exception:  # the job must survive; the next week tries again
        log.exception("weekly review failed")
        return
    log.info("weekly review %s: %d PDFs, %d e-mails queued", result["week"],
             result["reviews"], result["emails_queued"])
