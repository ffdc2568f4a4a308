"""Reopening a closed file needs the approval of a post that can approve."""

from __future__ import annotations

from engine.audit.verify import verify_database
from tests.flow import act_on_file, error, expect, open_file, task_for


def closed_approved_file(api) -> dict:
    f = open_file(api, subject="Closed and reopened")
    expect(api.post(f"/files/{f['id']}/notes", "clerk", json={"text": "first para"}), 201)
    act_on_file(api, "clerk", f["id"], action="forward", to="ds")
    act_on_file(api, "ds", f["id"], action="approve")
    act_on_file(api, "clerk", f["id"], action="close", record_category="C")
    return f


def test_reopen_with_approval(api, demo):
    f = closed_approved_file(api)
    fid = f["id"]
    error(api.post(f"/files/{fid}/reopen", "so", json={"reason": "x"}), 403)
    error(api.post(f"/files/{fid}/reopen", "clerk", json={"reason": " "}), 422)
    error(api.post(f"/files/{fid}/reopen", "clerk", json={"reason": "x", "to": "us"}), 422)
    r = api.post(f"/files/{fid}/reopen", "clerk", json={"reason": "Court order received"})
    assert r.status_code == 201, r.text
    assert r.json()["approver"]["code"] == "GAD-EST-DS"
    error(api.post(f"/files/{fid}/reopen", "clerk", json={"reason": "again"}), 409)
    task = task_for(api, "ds", file_id=fid)
    assert task["name"] == "Reopen approval"
    assert api.get(f"/files/{fid}", "clerk").json()["status"] == "closed"

    act_on_file(api, "ds", fid, action="approve", remark="Reopen for compliance")
    view = api.get(f"/files/{fid}", "clerk").json()
    assert view["status"] == "open"
    assert view["locked"] is False
    assert view["holder"]["code"] == "GAD-EST-DA"
    assert view["record_category"] is None
    assert task_for(api, "clerk", file_id=fid)["name"] == "Noting"
    # earlier notes stay sealed; new ones follow
    assert api.post(f"/files/{fid}/notes", "clerk",
                    json={"text": "court order noted"}).json()["para_no"] == 2
    assert [n["editable"] for n in api.get(f"/files/{fid}", "clerk").json()["notes"]] == [
        False, True]
    notes = api.get("/notifications", "clerk").json()
    assert any("reopened" in n["subject"] for n in notes)
    kinds = [(e["kind"], (e["data"] or {}).get("handler"))
             for e in api.get(f"/files/{fid}/history", "auditor").json()]
    assert ("handler_called", "reopen_file") in kinds
    # the file can be approved and closed again, and nothing looks tampered with
    act_on_file(api, "clerk", fid, action="forward", to="ds")
    act_on_file(api, "ds", fid, action="approve")
    assert api.get(f"/files/{fid}", "clerk").json()["locked"] is True

    report = verify_database(demo.db)
    assert report.intact, report.problems


def test_reopen_refused_or_not_closed(api):
    still_open = open_file(api)
    error(api.post(f"/files/{still_open['id']}/reopen", "clerk", json={"reason": "x"}), 409)
    f = closed_approved_file(api)
    expect(api.post(f"/files/{f['id']}/reopen", "clerk",
                    json={"reason": "x", "to": "secretary"}), 201)
    act_on_file(api, "secretary", f["id"], action="reject", remark="No grounds")
    view = api.get(f"/files/{f['id']}", "clerk").json()
    assert view["status"] == "closed"
    assert view["locked"] is True
    assert view["tasks"] == []
    notes = api.get("/notifications", "clerk").json()
    assert any("not reopened" in n["subject"] for n in notes)
