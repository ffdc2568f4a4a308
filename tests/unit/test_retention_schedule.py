"""The daily prune's schedule setting: parsed strictly, installed as a cron job in office
time, removed when off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from engine.ops import retention_schedule


def test_parse():
    assert retention_schedule.parse("02:30") == (2, 30)
    assert retention_schedule.parse(" 23:05 ") == (23, 5)
    assert retention_schedule.parse("OFF") is None
    for bad in ("24:00", "2:61", "", "mon 02:30", "0230"):
        with pytest.raises(ValueError, match="SANCHIKA_RETENTION_SCHEDULE"):
            retention_schedule.parse(bad)


@dataclass
class _Settings:
    retention_schedule: str
    database_url: str = "sqlite://"


@dataclass
class _App:
    settings: _Settings


def test_install_and_remove():
    jobs = BackgroundScheduler(timezone=UTC)
    retention_schedule.install(jobs, _App(_Settings("02:30")), lambda: False)
    job = jobs.get_job(retention_schedule.JOB)
    due = job.trigger.get_next_fire_time(None, datetime(2026, 12, 1, tzinfo=UTC))
    assert (due.hour, due.minute) == (2, 30)  # office time (IST)
    assert due.utcoffset().total_seconds() == 5.5 * 3600
    retention_schedule.install(jobs, _App(_Settings("off")), lambda: False)
    assert jobs.get_job(retention_schedule.JOB) is None
