"""Which working calendar an office works by.

An office with its own calendar row (work_calendar.office_id) uses its weekly off days,
hours and time zone; one without inherits its parent's, up the tree to the installation's
default row (office_id NULL). Holidays add up down the tree: an office keeps the
installation's holidays and those of every office above it, plus its own (a district's
local holiday also closes its field offices, not the division or the secretariat)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from engine.sla.workcal import WorkingCalendar


@dataclass(frozen=True)
class OfficeCalendars:
    """Everything needed to resolve any office's calendar, loaded once (and cached)."""

    default: WorkingCalendar                       # hours of the installation, no holidays
    own: Mapping[int, WorkingCalendar]             # office id -> its own calendar row
    parents: Mapping[int, int | None]              # office id -> parent office id
    holidays: Mapping[int | None, frozenset[date]]  # office id (None: everywhere) -> days
    post_offices: Mapping[int, int | None] = field(default_factory=dict)  # post -> office

    def chain(self, office_id: int | None) -> list[int]:
        """The office and its ancestors, nearest first (stops on a cycle)."""
        out: list[int] = []
        while office_id is not None and office_id not in out:
            out.append(office_id)
            office_id = self.parents.get(office_id)
        return out

    def for_office(self, office_id: int | None) -> WorkingCalendar:
        chain = self.chain(office_id)
        base = next((self.own[o] for o in chain if o in self.own), self.default)
        days = set(self.holidays.get(None, frozenset()))
        for office in chain:
            days |= self.holidays.get(office, frozenset())
        return replace(base, holidays=frozenset(days))

    def for_post(self, post_id: int) -> WorkingCalendar:
        return self.for_office(self.post_offices.get(post_id))

    def source(self, office_id: int | None) -> int | None:
        """The office whose calendar row applies (None: the installation default)."""
        return next((o for o in self.chain(office_id) if o in self.own), None)
