"""The weekly review's schedule setting: parsed strictly, installed as a cron job in
office time, removed when off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from engine.ops import review_schedule


def test_parse():
    assert review_schedule.parse("mon 09:30") == ("mon", 9, 30)
    assert review_schedule.parse(" FRI 17:05 ") == ("fri", 17, 5)
    assert review_schedule.parse("off") is None
    for bad in ("monday 9", "mon 24:00", "mon 9:61", "", "09:30"):
        with pytest.raises(ValueError, match="SANCHIKA_REVIEW_SCHEDULE"):
            review_schedule.parse(bad)


@dataclass
class _Settings:
    review_schedule: str
    database_url: str = "sqlite://"


@dataclass
class _App:
    settings: _Settings


def test_install_and_remove():
    jobs = BackgroundScheduler(timezone=UTC)
    review_schedule.install(jobs, _App(_Settings("wed 10:15")))
    job = jobs.get_job(review_schedule.JOB)
    start = datetime(2026, 12, 1, tzinfo=UTC)  # a Tuesday
    due = job.trigger.get_next_fire_time(None, start)
    assert (due.weekday(), due.hour, due.minute) == (2, 10, 15)  # Wednesday, IST
    assert due.utcoffset().total_seconds() == 5.5 * 3600
    review_schedule.install(jobs, _App(_Settings("off")))
    assert jobs.get_job(review_schedule.JOB) is None
