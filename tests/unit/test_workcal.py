"""Working-time arithmetic of the office calendar: office hours, weekends, holidays
(pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.sla.workcal import WorkingCalendar

IST = ZoneInfo("Asia/Kolkata")


def ist(*args: int) -> datetime:
    return datetime(*args, tzinfo=IST)


# 2026-11-20 is a Friday; 2026-11-23 a Monday.
def test_friday_evening_one_working_day_lands_on_monday_skipping_a_holiday():
    cal = WorkingCalendar()
    assert cal.add_working_days(ist(2026, 11, 20, 19, 30), 1) == ist(2026, 11, 23, 18, 0)
    with_holiday = WorkingCalendar(holidays=frozenset({date(2026, 11, 23)}))
    assert with_holiday.add_working_days(ist(2026, 11, 20, 19, 30), 1) == \
        ist(2026, 11, 24, 18, 0)


def test_working_time_counts_only_office_hours():
    cal = WorkingCalendar()
    # Friday 15:00 + 1 working day (8 h) = 3 h on Friday + 5 h on Monday
    assert cal.add_working_days(ist(2026, 11, 20, 15, 0), 1) == ist(2026, 11, 23, 15, 0)
    # 4 working hours from Thursday 16:00: 2 h Thursday, 2 h Friday
    assert cal.add_working_time(ist(2026, 11, 19, 16, 0), timedelta(hours=4)) == \
        ist(2026, 11, 20, 12, 0)
    # before opening counts from the opening
    assert cal.add_working_time(ist(2026, 11, 19, 7, 0), timedelta(hours=1)) == \
        ist(2026, 11, 19, 11, 0)
    # 7 working days from Monday 10:00 (CSMOP): the next Tuesday 18:00, weekend skipped
    assert cal.add_working_days(ist(2026, 11, 23, 10, 0), 7) == ist(2026, 12, 1, 18, 0)
    # results are UTC
    assert cal.add_working_days(ist(2026, 11, 23, 10, 0), 1).tzinfo == UTC


def test_custom_weekend_and_hours():
    cal = WorkingCalendar(weekend=frozenset({6}), day_start=time(9, 30),
                          day_end=time(17, 30))  # six-day week
    assert cal.add_working_days(ist(2026, 11, 20, 19, 0), 1) == ist(2026, 11, 21, 17, 30)
    with pytest.raises(ValueError, match="must end after it starts"):
        WorkingCalendar(day_start=time(18, 0), day_end=time(10, 0))
    with pytest.raises(ValueError, match="must be a working day"):
        WorkingCalendar(weekend=frozenset(range(7)))
