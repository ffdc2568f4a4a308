"""The acceptance journey over real HTTP: receipt → file → noting → approval → lock → close."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import text

from tests.flow import act, task_for


def test_whole_lifecycle(api, demo):
    r = api.post("/receipts", "clerk", json={
        "sender": "Director, Treasury", "subject": "वेतन निर्धारण / pay fixation",
        "mode": "post", "letter_ref": "T/42/2026", "letter_date": "2026-11-02",
        "language": "hi"})
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["diary_no"].endswith("/GAD-EST")
    assert receipt["holder_user"] == "clerk"
    task_for(api, "clerk", receipt_id=receipt["id"])

    r = api.post("/files", "clerk", json={"subject": "Pay fixation of JAs", "head": "11011",
                                          "receipt_id": receipt["id"]})
    assert r.status_code == 201, r.text
    file = r.json()
    fid = file["id"]
    assert file["file_no"].startswith("GAD/EST/11011/")
    assert [c["diary_no"] for c in file["correspondence"]] == [receipt["diary_no"]]
    assert api.get(f"/receipts/{receipt['id']}", "clerk").json()["status"] == "filed"

    r = api.post(f"/files/{fid}/notes", "clerk", json={"text": "प्रस्ताव नियमानुसार है। Put up."})
    assert r.status_code == 201, r.text
    assert r.json()["para_no"] == 1

    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="so")
    act(api, "so", task_for(api, "so", file_id=fid)["id"], action="forward", to="us",
        note="Checked; may be seen by US.")
    act(api, "us", task_for(api, "us", file_id=fid)["id"], action="forward", to="ds")
    approval = task_for(api, "ds", file_id=fid)
    assert approval["name"] == "Approval"
    assert "approve" in approval["actions"]
    assert approval["due_at"] is not None
    act(api, "ds", approval["id"], action="approve", remark="Approved.")

    f = api.get(f"/files/{fid}", "clerk").json()
    assert f["locked"] is True
    assert f["status"] == "approved"
    assert all(not n["editable"] for n in f["notes"])

    # After approval nothing may be added, through the API or by plain SQL.
    r = api.post(f"/files/{fid}/notes", "clerk", json={"text": "late addition"})
    assert r.status_code in (409, 422), r.text
    assert "locked" in r.json()["error"]["message"]
    with pytest.raises(Exception, match=r"read-only|locked"), demo.db.write_engine.begin() as conn:
        conn.execute(text("UPDATE notes SET text = 'tampered' WHERE file_id = :f"), {"f": fid})
    with demo.db.engine.connect() as conn:
        texts = conn.execute(text("SELECT text FROM notes WHERE file_id = :f"), {"f": fid}).all()
    assert "tampered" not in {t[0] for t in texts}

    closure = task_for(api, "clerk", file_id=fid)
    assert closure["name"] == "Closure"
    act(api, "clerk", closure["id"], action="close", record_category="B")
    f = api.get(f"/files/{fid}", "auditor").json()
    assert f["status"] == "closed"
    assert f["record_category"] == "B"
    assert f["tasks"] == []

    track = api.get(f"/files/{fid}/track", "auditor").json()
    hops = [(m["from"]["code"], m["to"]["code"], m["action"]) for m in track["movements"]]
    assert hops == [
        ("GAD-EST-DA", "GAD-EST-SO", "forward"),
        ("GAD-EST-SO", "GAD-EST-US", "forward"),
        ("GAD-EST-US", "GAD-EST-DS", "forward"),
        ("GAD-EST-DS", "GAD-EST-DA", "approve"),
    ]
    assert all(m["sent_at"] for m in track["movements"])
    assert [m["sent_at"] for m in track["movements"]] == sorted(
        m["sent_at"] for m in track["movements"])

    events = api.get(f"/files/{fid}/history", "auditor").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "instance_started"
    assert kinds[-1] == "instance_completed"
    completed = [(e["actor"], e["data"]["action"]) for e in events if e["kind"] == "task_completed"]
    assert completed == [("clerk", "forward"), ("so", "forward"), ("us", "forward"),
                         ("ds", "approve"), ("clerk", "close")]
    assert {"lock_file", "notify"} <= {e["data"].get("handler") for e in events}
    assert "timer_set" in kinds
    for prev, cur in pairwise(events):
        assert cur["prev_hash"] == prev["hash"]

    notes = api.get("/notifications", "clerk").json()
    assert any("approved" in n["subject"] for n in notes)


def test_find_files_by_number_and_text(api):
    created = api.post("/files", "clerk",
                       json={"subject": "भर्ती नियम 2026", "head": "1201"}).json()
    r = api.get("/files", "clerk", params={"file_no": created["file_no"]})
    assert [f["id"] for f in r.json()] == [created["id"]]
    # the file never passed through the Section Officer: only its chain (and the
    # auditor) find it (engine/domain/visibility.py)
    r = api.get("/files", "clerk", params={"q": "भर्ती"})
    assert created["id"] in [f["id"] for f in r.json()]
    assert api.get("/files", "so", params={"q": "भर्ती"}).json() == []
    r = api.get("/files", "auditor", params={"holder": "clerk"})
    assert created["id"] in [f["id"] for f in r.json()]


def test_return_goes_back_to_sender(api):
    fid = api.post("/files", "clerk", json={"subject": "Leave rules", "head": "11013"}).json()["id"]
    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="so")
    act(api, "so", task_for(api, "so", file_id=fid)["id"], action="return", remark="Add rule 5")
    track = api.get(f"/files/{fid}/track", "clerk").json()
    assert track["holder_user"] == "clerk"
    assert track["movements"][-1]["action"] == "return"
    assert track["movements"][-1]["remark"] == "Add rule 5"


def test_reject_leads_to_closure_without_lock(api):
    fid = api.post("/files", "clerk", json={"subject": "Vehicle", "head": "11014"}).json()["id"]
    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="ds")
    act(api, "ds", task_for(api, "ds", file_id=fid)["id"], action="reject", remark="No funds")
    f = api.get(f"/files/{fid}", "clerk").json()
    assert f["locked"] is False
    assert f["tasks"][0]["name"] == "Closure"


def test_receipt_forward_and_close(api):
    rid = api.post("/receipts", "clerk", json={"sender": "Citizen", "subject": "RTI"}).json()["id"]
    act(api, "clerk", task_for(api, "clerk", receipt_id=rid)["id"], action="forward", to="so")
    r = api.post(f"/tasks/{task_for(api, 'so', receipt_id=rid)['id']}", "so",
                 json={"action": "close"})
    assert r.status_code == 422
    assert "remark" in r.json()["error"]["message"]
    act(api, "so", task_for(api, "so", receipt_id=rid)["id"], action="close",
        remark="Information sent")
    got = api.get(f"/receipts/{rid}", "auditor").json()
    assert got["status"] == "closed"
    assert got["holder"] is None
    assert [e["kind"] for e in got["history"]][-1] == "instance_completed"
