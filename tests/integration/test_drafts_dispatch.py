"""Drafts for approval: versions, differences, approval, dispatch, read-only after lock."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.flow import act_on_file, error, open_file

LETTER = "To the Director, Treasury\nSubject: pay fixation\nThe proposal is approved."


def draft_in(api, fid: int, user: str = "clerk", body: str = LETTER) -> dict:
    r = api.post(f"/files/{fid}/drafts", user,
                 json={"subject": "Reply to Treasury", "text": body,
                       "addressee": "Director, Treasury"})
    assert r.status_code == 201, r.text
    return r.json()


def test_versions_and_diff(api):
    fid = open_file(api)["id"]
    d = draft_in(api, fid)
    assert d["version"] == 1
    assert d["status"] == "draft"
    assert d["text"] == LETTER
    error(api.post(f"/files/{fid}/drafts", "so", json={"subject": "x", "text": "y"}), 403)
    v2 = LETTER.replace("is approved", "is approved with effect from 1 April")
    r = api.post(f"/drafts/{d['id']}/versions", "clerk", json={"text": v2})
    assert r.status_code == 201
    assert r.json()["version"] == 2
    error(api.post(f"/drafts/{d['id']}/versions", "clerk", json={"text": v2}), 422)
    act_on_file(api, "clerk", fid, action="forward", to="so")
    r = api.post(f"/drafts/{d['id']}/versions", "so", json={"text": v2 + "\nYours faithfully"})
    assert r.json()["version"] == 3
    assert r.json()["edited_by"] == "so"
    # the clerk no longer holds the file
    error(api.post(f"/drafts/{d['id']}/versions", "clerk", json={"text": "mine"}), 403)

    full = api.get(f"/drafts/{d['id']}", "collector").json()
    assert [(v["version"], v["author"]) for v in full["versions"]] == [
        (1, "clerk"), (2, "clerk"), (3, "so")]
    diff = api.get(f"/drafts/{d['id']}/diff", "collector", params={"from": 1, "to": 2}).json()
    assert diff["changed"] is True
    assert {"op": "removed", "text": "The proposal is approved."} in diff["lines"]
    assert {"op": "added", "text": "The proposal is approved with effect from 1 April."} in \
        diff["lines"]
    assert "-The proposal is approved." in diff["unified"]
    last = api.get(f"/drafts/{d['id']}/diff", "collector").json()
    assert (last["from"], last["to"]) == (2, 3)
    assert [line for line in last["lines"] if line["op"] == "added"] == [
        {"op": "added", "text": "Yours faithfully"}]
    error(api.get(f"/drafts/{d['id']}/diff", "collector", params={"from": 1, "to": 9}), 422)
    view = api.get(f"/files/{fid}", "so").json()
    assert [(x["id"], x["version"], x["status"]) for x in view["drafts"]] == [
        (d["id"], 3, "draft")]


def test_dispatch_only_after_approval(api):
    fid = open_file(api)["id"]
    d = draft_in(api, fid)
    msg = error(api.post(f"/drafts/{d['id']}/dispatch", "clerk", json={"mode": "post"}), 409)
    assert "not approved" in msg
    # the clerk's post cannot approve; the approver must hold the file
    error(api.post(f"/drafts/{d['id']}/approve", "clerk"), 403)
    error(api.post(f"/drafts/{d['id']}/approve", "ds"), 403)
    act_on_file(api, "clerk", fid, action="forward", to="ds")
    r = api.post(f"/drafts/{d['id']}/approve", "ds")
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    assert r.json()["approved_by"] == "ds"
    error(api.post(f"/drafts/{d['id']}/approve", "ds"), 409)
    # approved: the text is read-only
    error(api.post(f"/drafts/{d['id']}/versions", "ds", json={"text": "changed"}), 409)

    error(api.post(f"/drafts/{d['id']}/dispatch", "ds", json={"mode": "pigeon"}), 422)
    error(api.post(f"/drafts/{d['id']}/dispatch", "us", json={"mode": "post"}), 403)
    r = api.post(f"/drafts/{d['id']}/dispatch", "ds",
                 json={"mode": "speed_post", "date": "2026-11-20"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["dispatch_no"] == "GAD/DSP/1/2026"
    assert first["date"] == "2026-11-20"
    assert first["addressee"] == "Director, Treasury"
    assert first["mode"] == "speed_post"
    # the creator issues a copy to another addressee: the next number
    second = api.post(f"/drafts/{d['id']}/dispatch", "clerk",
                      json={"mode": "email", "addressee": "AG, Lucknow",
                            "date": "2026-11-21"}).json()
    assert second["dispatch_no"] == "GAD/DSP/2/2026"
    view = api.get(f"/files/{fid}", "clerk").json()
    assert [x["dispatch_no"] for x in view["dispatches"]] == [
        "GAD/DSP/1/2026", "GAD/DSP/2/2026"]
    assert view["drafts"][0]["status"] == "issued"
    register = api.get("/dispatch-register", "collector", params={"year": 2026}).json()
    assert [x["dispatch_no"] for x in register][:2] == ["GAD/DSP/2/2026", "GAD/DSP/1/2026"]


def test_file_approval_approves_pending_drafts_and_locks_them(api, demo):
    fid = open_file(api)["id"]
    d = draft_in(api, fid)
    act_on_file(api, "clerk", fid, action="forward", to="ds")
    act_on_file(api, "ds", fid, action="approve")
    view = api.get(f"/files/{fid}", "clerk").json()
    assert view["drafts"][0]["status"] == "approved"
    assert view["drafts"][0]["approved_by"] == "ds"
    error(api.post(f"/drafts/{d['id']}/versions", "clerk", json={"text": "late"}), 409)
    error(api.post(f"/files/{fid}/drafts", "clerk", json={"subject": "s", "text": "t"}), 409)
    # and in the database itself
    for sql in ("UPDATE draft_versions SET text = 'tampered' WHERE draft_id = :d",
                "DELETE FROM draft_versions WHERE draft_id = :d",
                "UPDATE drafts SET subject = 'tampered' WHERE id = :d"):
        with (
            pytest.raises(Exception, match=r"read-only|never"),
            demo.db.write_engine.begin() as conn,
        ):
            conn.execute(text(sql), {"d": d["id"]})
    # issuing still works after the lock
    assert api.post(f"/drafts/{d['id']}/dispatch", "clerk",
                    json={"mode": "hand"}).status_code == 201
