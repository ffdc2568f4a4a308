"""Holidays and working calendars per office: a district office's holiday moves a due time
there and not in the secretariat; an office's own calendar is inherited below it."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.sla.policy import SlaPolicy, load_calendar
from engine.store.admin_models import Office
from engine.store.models import Instance, OpenTask, Post
from tests.flow import expect, open_file
from tests.org_setup import page_client, setup_division

IST = ZoneInfo("Asia/Kolkata")


def _post_id(s, code: str) -> int:
    return s.scalar(select(Post.id).where(Post.code == code))


def test_a_district_holiday_moves_the_due_time_there_only(api, demo):
    setup_division(api)
    file = open_file(api, "sehda", subject="Mutation dispute", head="21")  # fills the cache
    # Monday 23 Nov 2026: a local fair in Sehore district only
    holiday = expect(api.post("/admin/holidays", "admin", json={
        "day": "2026-11-23", "name": "Sehore fair", "office": "REV-DIST-SEH"}), 201)
    assert holiday["office"] == "REV-DIST-SEH"
    friday_evening = datetime(2026, 11, 20, 19, 0, tzinfo=IST)
    with demo.db.reader() as s:
        instance = s.get(Instance, file["instance_id"])
        policy = SlaPolicy(None)
        district = policy.due_at(s, instance, "noting", _post_id(s, "SEH-DA"), friday_evening)
        secretariat = policy.due_at(s, instance, "noting", _post_id(s, "GAD-EST-US"),
                                    friday_evening)
    # 7 working days: the secretariat ends on Tuesday 1 Dec, the district a day later
    assert secretariat == datetime(2026, 12, 1, 18, 0, tzinfo=IST)
    assert district == datetime(2026, 12, 2, 18, 0, tzinfo=IST)
    # the same day again for the district is refused; for another office it is allowed
    expect(api.post("/admin/holidays", "admin", json={
        "day": "2026-11-23", "name": "Fair", "office": "REV-DIST-SEH"}), 409)
    expect(api.post("/admin/holidays", "admin", json={
        "day": "2026-11-23", "name": "Fair", "office": "REV-DIV-BPL"}), 201)
    r = api.post("/admin/holidays", "admin", json={"day": "2026-11-24", "name": "X",
                                                   "office": "NOWHERE"})
    assert r.status_code == 422
    assert "office" in r.text


def test_an_office_task_opens_with_its_offices_holidays(api, demo):
    setup_division(api)
    # the next weekday: a district holiday the next file's 7-day limit must skip
    day = date.today() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    expect(api.post("/admin/holidays", "admin", json={
        "day": day.isoformat(), "name": "Local holiday", "office": "REV-DIST-SEH"}), 201)
    file = open_file(api, "sehda", subject="Boundary dispute", head="21")
    with demo.db.reader() as s:
        task = s.scalar(select(OpenTask).where(OpenTask.file_id == file["id"]))
        district = s.scalar(select(Office.id).where(Office.code == "REV-DIST-SEH"))
        there = load_calendar(s, district).add_working_days(task.received_at, 7)
        default = load_calendar(s).add_working_days(task.received_at, 7)
    assert task.due_at == there
    assert there > default


def test_an_offices_own_calendar_is_inherited_below_it(api, demo):
    setup_division(api)
    expect(api.post("/admin/offices", "admin", json={
        "code": "SEH-TEH", "name": "Tehsil Ichhawar", "kind": "field",
        "department": "REV", "parent": "REV-DIST-SEH"}), 201)
    cal = expect(api.get("/admin/calendar?office=SEH-TEH", "admin"), 200)
    assert cal["own"] is False
    assert cal["inherited_from"] is None
    expect(api.call("PUT", "/admin/calendar", "admin", json={
        "office": "REV-DIST-SEH", "weekend": [6], "day_start": "09:30"}), 200)
    own = expect(api.get("/admin/calendar?office=REV-DIST-SEH", "admin"), 200)
    assert own["own"] is True
    assert own["weekend"] == [6]
    assert own["day_start"] == "09:30"
    below = expect(api.get("/admin/calendar?office=SEH-TEH", "admin"), 200)
    assert below["inherited_from"] == "REV-DIST-SEH"
    assert below["weekend"] == [6]
    # the installation's calendar is untouched
    assert expect(api.get("/admin/calendar", "admin"), 200)["weekend"] == [5, 6]
    # dropping the district's own calendar: inherited from the installation again
    demo.clear_work_calendar(_admin(demo), "REV-DIST-SEH")
    assert expect(api.get("/admin/calendar?office=SEH-TEH", "admin"), 200)["weekend"] == [5, 6]


def _admin(demo):
    from engine.store.models import User
    with demo.db.reader() as s:
        return s.scalar(select(User).where(User.username == "admin"))


def test_the_calendar_page_chooses_the_office(api, web_app):
    setup_division(api)
    client = page_client(web_app, "admin")
    page = client.get("/admin/calendar?office=REV-DIST-SEH").get_data(as_text=True)
    assert 'id="cal-office"' in page
    assert 'value="REV-DIST-SEH" selected' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    r = client.post("/admin/do/holiday_add", data={
        "csrf_token": token, "day": "2026-11-23", "name": "Sehore fair",
        "office": "REV-DIST-SEH", "next": "/admin/calendar?office=REV-DIST-SEH"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith("office=REV-DIST-SEH")
    there = client.get("/admin/calendar?office=REV-DIST-SEH").get_data(as_text=True)
    assert "Sehore fair" in there
    assert "Sehore fair" not in client.get("/admin/calendar").get_data(as_text=True)
    [row] = [h for h in api.get("/admin/holidays", "admin").json() if h["name"] == "Sehore fair"]
    assert row["office"] == "REV-DIST-SEH"
