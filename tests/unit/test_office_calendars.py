"""Which calendar an office works by: its own, else its nearest ancestor's, else the
installation's; holidays add up from the installation down to the office."""

from __future__ import annotations

from datetime import date, time

from engine.sla.calendars import OfficeCalendars
from engine.sla.workcal import WorkingCalendar

# secretariat 1 > division 2 > district 3 > field office 4; another district 5 under 2
PARENTS = {1: None, 2: 1, 3: 2, 4: 3, 5: 2}
DEFAULT = WorkingCalendar()
DISTRICT = WorkingCalendar(weekend=frozenset({6}), day_start=time(9, 30), day_end=time(17, 30))
NEW_YEAR, RAKHI, FAIR = date(2027, 1, 1), date(2026, 8, 28), date(2026, 11, 23)


def calendars() -> OfficeCalendars:
    return OfficeCalendars(default=DEFAULT, own={3: DISTRICT}, parents=PARENTS,
                           holidays={None: frozenset({NEW_YEAR}), 2: frozenset({RAKHI}),
                                     3: frozenset({FAIR})},
                           post_offices={10: 4, 11: 1, 12: None})


def test_an_office_without_its_own_calendar_inherits_up_the_tree():
    c = calendars()
    assert c.for_office(3).weekend == frozenset({6})          # its own
    assert c.for_office(4).day_start == time(9, 30)           # the district's, inherited
    assert c.source(4) == 3
    assert c.source(3) == 3
    assert c.for_office(2).weekend == DEFAULT.weekend         # above the district: default
    assert c.source(2) is None
    assert c.source(None) is None
    assert c.for_office(None).day_start == DEFAULT.day_start


def test_holidays_add_up_from_the_installation_down():
    c = calendars()
    assert c.for_office(None).holidays == {NEW_YEAR}
    assert c.for_office(1).holidays == {NEW_YEAR}
    assert c.for_office(2).holidays == {NEW_YEAR, RAKHI}
    assert c.for_office(4).holidays == {NEW_YEAR, RAKHI, FAIR}  # field office under district
    assert c.for_office(5).holidays == {NEW_YEAR, RAKHI}        # the other district: no fair
    assert not c.for_office(5).is_working_day(RAKHI)
    assert c.for_office(5).is_working_day(FAIR)


def test_a_post_works_by_its_offices_calendar():
    c = calendars()
    assert not c.for_post(10).is_working_day(FAIR)
    assert c.for_post(11).is_working_day(FAIR)
    assert c.for_post(12) == c.for_office(None)  # no office at all
    assert c.for_post(99) == c.for_office(None)  # unknown post


def test_a_cycle_in_bad_data_does_not_loop():
    c = OfficeCalendars(default=DEFAULT, own={}, parents={1: 2, 2: 1}, holidays={})
    assert c.chain(1) == [1, 2]
