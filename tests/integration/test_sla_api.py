"""Admin API for holidays, calendar and SLA rules; the pendency report with late actions,
over the real HTTP server."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from engine.store.models import OpenTask


@pytest.mark.parametrize("path", ["/admin/holidays", "/admin/sla-rules", "/admin/calendar"])
def test_admin_endpoints_refuse_others(api, path):
    for user in ("clerk", "ds", "auditor", "designer"):
        assert api.get(path, user).status_code == 403
    assert api.get(path).status_code == 401
    assert api.get(path, "admin").status_code == 200


def test_holidays_crud_and_bad_input(api):
    r = api.post("/admin/holidays", "clerk", json={"day": "2027-01-26", "name": "Republic Day"})
    assert r.status_code == 403
    r = api.post("/admin/holidays", "admin", json={"day": "2027-01-26", "name": "Republic Day"})
    assert r.status_code == 201, r.text
    holiday = r.json()
    assert holiday["day"] == "2027-01-26"
    again = api.post("/admin/holidays", "admin", json={"day": "2027-01-26", "name": "Again"})
    assert again.status_code == 409
    for bad in ({"day": "26/01/2027", "name": "x"}, {"name": "No day"},
                {"day": "2027-01-27", "name": ""}):
        r = api.post("/admin/holidays", "admin", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["message"]
    assert [h["day"] for h in api.get("/admin/holidays", "admin").json()] == ["2027-01-26"]
    assert api.call("DELETE", f"/admin/holidays/{holiday['id']}", "clerk").status_code == 403
    assert api.call("DELETE", f"/admin/holidays/{holiday['id']}", "admin").status_code == 204
    assert api.call("DELETE", f"/admin/holidays/{holiday['id']}", "admin").status_code == 404
    assert api.get("/admin/holidays", "admin").json() == []


def test_calendar_update_and_validation(api):
    cal = api.get("/admin/calendar", "admin").json()
    assert cal == {"weekend": [5, 6], "day_start": "10:00", "day_end": "18:00",
                   "timezone": "Asia/Kolkata", "day_hours": 8.0, "office": None,
                   "own": False, "inherited_from": None}
    r = api.call("PUT", "/admin/calendar", "admin", json={"weekend": [6], "day_start": "09:30"})
    assert r.status_code == 200, r.text
    assert r.json()["weekend"] == [6]
    assert r.json()["day_hours"] == 8.5
    for bad in ({"day_end": "08:00"}, {"weekend": [7]}, {"weekend": [0, 1, 2, 3, 4, 5, 6]},
                {"timezone": "Mars/Olympus"}, {"day_start": "ten"}):
        r = api.call("PUT", "/admin/calendar", "admin", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert api.get("/admin/calendar", "admin").json()["day_start"] == "09:30"  # unchanged
    assert api.call("PUT", "/admin/calendar", "so", json={"weekend": [6]}).status_code == 403


def test_sla_rules_crud_and_effect_on_inbox(api):
    rule = {"department": "GAD", "task_id": "noting", "amount": 3, "unit": "working_hours"}
    assert api.post("/admin/sla-rules", "ds", json=rule).status_code == 403
    r = api.post("/admin/sla-rules", "admin", json=rule)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["department"] == "GAD"
    assert created["priority"] is None
    assert api.post("/admin/sla-rules", "admin", json=rule).status_code == 409
    for bad in ({**rule, "unit": "days"}, {**rule, "amount": 0}, {**rule, "amount": "3"},
                {**rule, "priority": "Urgent"}, {**rule, "department": "NOPE"},
                {"unit": "working_days"}):
        r = api.post("/admin/sla-rules", "admin", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert len(api.get("/admin/sla-rules", "admin").json()) == 1

    f = api.post("/files", "clerk", json={"subject": "Rule applies", "head": "11011"}).json()
    task = next(t for t in api.get("/tasks", "clerk").json() if t.get("file_id") == f["id"])
    received = datetime.fromisoformat(task["received_at"])
    due = datetime.fromisoformat(task["due_at"])
    # 3 working hours: at least 3 clock hours, and far less than the CSMOP 7 days
    assert timedelta(hours=3) <= due - received < timedelta(days=4)
    assert api.call("DELETE", f"/admin/sla-rules/{created['id']}", "admin").status_code == 204
    g = api.post("/files", "clerk", json={"subject": "Default again", "head": "11011"}).json()
    task = next(t for t in api.get("/tasks", "clerk").json() if t.get("file_id") == g["id"])
    assert datetime.fromisoformat(task["due_at"]) - \
        datetime.fromisoformat(task["received_at"]) > timedelta(days=8)  # 7 working days


def test_pendency_report_and_late_actions(api, demo):
    f = api.post("/files", "clerk", json={"subject": "Held too long", "head": "11011"}).json()
    task = next(t for t in api.get("/tasks", "clerk").json() if t.get("file_id") == f["id"])
    with demo.db.transaction() as s:  # the limit ran out an hour ago
        s.execute(update(OpenTask).where(OpenTask.id == task["id"]).values(
            due_at=datetime.now().astimezone() - timedelta(hours=1)))
    report = api.get("/reports/pendency", "so").json()
    clerk_row = next(p for p in report["posts"] if p["officers"] == ["clerk"])
    # demo: two receipts and this file wait with the clerk
    assert clerk_row["held"] >= 3
    assert clerk_row["overdue"] == 1
    assert clerk_row["oldest"] is not None
    assert clerk_row["average_days_held"] >= 0
    us_row = next(p for p in report["posts"] if p["officers"] == ["us"])
    assert us_row["held"] == 1
    assert us_row["overdue"] == 0

    late = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "forward", "to": "so"})
    assert late.status_code == 422
    assert "reason" in late.json()["error"]["message"]
    ok = api.post(f"/tasks/{task['id']}", "clerk",
                  json={"action": "forward", "to": "so", "reason": "Awaited the treasury"})
    assert ok.status_code == 200, ok.text
    time.sleep(0.01)
    for viewer in ("clerk", "auditor", "admin"):
        report = api.get("/reports/pendency", viewer).json()
        [entry] = report["late_actions"]
        assert entry["reason"] == "Awaited the treasury"
        assert entry["by"] == "clerk"
        assert entry["number"] == f["file_no"]
        assert entry["late_by_hours"] >= 1
    assert api.get("/reports/pendency", "designer").status_code == 403
    # the counts are the department's, but the late file's number and reason are shown
    # only to those who may read the file: `us` never held it
    assert api.get("/reports/pendency", "us").json()["late_actions"] == []
    history = api.get(f"/files/{f['id']}/history", "clerk").json()
    assert any(e["data"].get("reason") == "Awaited the treasury" for e in history)


def test_officers_see_only_their_department(api, demo):
    from engine.domain import org, subject_heads

    with demo.db.transaction() as s:
        fin = org.ensure_department(s, "FIN", "Finance")
        bud = org.ensure_section(s, fin, "BUD", "Budget")
        post = org.ensure_post(s, bud, "FIN-BUD-DA", "Dealing Assistant, Budget")
        org.ensure_user(s, "fclerk", "Finance Clerk", "demo-pass-1", post=post)
        subject_heads.add(s, fin, "2101", "Budget estimates")
    r = api.post("/files", "fclerk", json={"subject": "Budget file", "head": "2101"})
    assert r.status_code == 201, r.text
    fin_view = api.get("/reports/pendency", "fclerk").json()
    assert [p["post"]["code"] for p in fin_view["posts"]] == ["FIN-BUD-DA"]
    assert fin_view["posts"][0]["held"] == 1
    gad_view = api.get("/reports/pendency", "clerk").json()
    assert "FIN-BUD-DA" not in [p["post"]["code"] for p in gad_view["posts"]]
    everything = api.get("/reports/pendency", "auditor").json()
    codes = [p["post"]["code"] for p in everything["posts"]]
    assert "FIN-BUD-DA" in codes
    assert "GAD-EST-DA" in codes
