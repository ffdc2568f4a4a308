"""Working time: office hours on working days, skipping weekly off days and holidays.

A limit of N working days is N whole office days of working time (N × the day's length),
so "1 working day" from Friday 15:00 runs to Monday 15:00, and from Friday 19:00 (after
hours) to the end of Monday. Hours count the same way: "4 working hours" from 16:00 ends at
12:00 the next working day (office 10:00–18:00)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# How far ahead we look for a working day before calling the calendar broken.
_MAX_DAYS_SEARCHED = 3660


@dataclass(frozen=True)
class WorkingCalendar:
    weekend: frozenset[int] = frozenset({5, 6})      # Monday=0 … Sunday=6
    day_start: time = time(10, 0)
    day_end: time = time(18, 0)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Kolkata"))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("the working day must end after it starts")
        if len(self.weekend) >= 7:
            raise ValueError("at least one day of the week must be a working day")

    @property
    def day_length(self) -> timedelta:
        return (datetime.combine(date.min, self.day_end)
                - datetime.combine(date.min, self.day_start))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start` (an aware datetime); UTC."""
        if amount < timedelta(0):
            raise ValueError("a limit cannot be negative")
        local = start.astimezone(self.tz)
        day = local.date()
        # Where counting begins: inside today's hours, or the next opening.
        if self.is_working_day(day) and local.time() < self.day_end:
            cursor = max(local.replace(tzinfo=None),
                         datetime.combine(day, self.day_start))
        else:
            day = self._next_working_day(day)
            cursor = datetime.combine(day, self.day_start)
        remaining = amount
        for _ in range(_MAX_DAYS_SEARCHED):
            closing = datetime.combine(day, self.day_end)
            available = closing - cursor
            if remaining <= available:
                return self._utc(cursor + remaining)
            remaining -= available
            day = self._next_working_day(day)
            cursor = datetime.combine(day, self.day_start)
        raise ValueError("the working calendar has no working days ahead")

    def add_working_days(self, start: datetime, days: float) -> datetime:
        return self.add_working_time(start, self.day_length * days)

    def _next_working_day(self, day: date) -> date:
        for _ in range(_MAX_DAYS_SEARCHED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError("the working calendar has no working days ahead")

    def _utc(self, naive_local: datetime) -> datetime:
        return naive_local.replace(tzinfo=self.tz).astimezone(UTC)


def parse_weekend(value: str | Iterable[int]) -> frozenset[int]:
    days = [int(v) for v in value.split(",") if v.strip()] if isinstance(value, str) \
        else [int(v) for v in value]
    if any(d < 0 or d > 6 for d in days):
        raise ValueError("weekend: days are numbers 0 (Monday) to 6 (Sunday)")
    return frozenset(days)


def parse_clock(value: str, field_name: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise ValueError(f"{field_name}: expected HH:MM, got {value!r}") from None
