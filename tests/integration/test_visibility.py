"""Who sees what (engine/domain/visibility.py), over the real API: the chain of posts an item
passed through, grading, the monitoring officer (read-only), and recorded grants."""

from __future__ import annotations

from datetime import timedelta

from tests.flow import act, diarise, error, expect, inbox, open_file, task_for
from tests.pdfs import make_pdf


def readable(api, user: str, path: str) -> bool:
    r = api.get(path, user)
    assert r.status_code in (200, 403), r.text
    return r.status_code == 200


def found(api, user: str, q: str, kind: str | None = None) -> set[tuple[str, int]]:
    params = {"q": q, **({"kind": kind} if kind else {})}
    r = api.get("/search", user, params=params)
    assert r.status_code == 200, r.text
    return {(hit["kind"], hit["id"]) for hit in r.json()}


def test_officers_see_what_passed_through_their_posts(api):
    file = open_file(api, subject="Promotion of stenographers zetaword", head="11013")
    fid = file["id"]
    paths = [f"/files/{fid}", f"/files/{fid}/track", f"/files/{fid}/history"]
    assert all(readable(api, "clerk", p) for p in paths)
    assert not any(readable(api, "so", p) for p in paths)
    message = error(api.get(f"/files/{fid}", "so"), 403)
    assert file["file_no"] in message
    assert "never passed through a post you hold" in message
    assert api.get("/files", "so", params={"q": "zetaword"}).json() == []
    assert found(api, "so", "zetaword") == set()
    assert found(api, "clerk", "zetaword") == {("file", fid)}

    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="so")
    assert readable(api, "so", f"/files/{fid}")
    assert not readable(api, "us", f"/files/{fid}")
    act(api, "so", task_for(api, "so", file_id=fid)["id"], action="forward", to="us")
    # holder, previous holders and senders all keep reading it
    assert all(readable(api, u, f"/files/{fid}") for u in ("clerk", "so", "us"))
    assert not readable(api, "ds", f"/files/{fid}")
    assert [f["id"] for f in api.get("/files", "so", params={"q": "zetaword"}).json()] == [fid]
    # auditor and admin read everything; a designer holds no post and reads nothing
    assert readable(api, "auditor", f"/files/{fid}")
    assert readable(api, "admin", f"/files/{fid}")
    assert not readable(api, "designer", f"/files/{fid}")


def test_secret_is_hidden_from_the_department_and_the_monitor(api):
    pdf = make_pdf("secret letter")
    r = api.post("/receipts", "clerk", files={"pdf": ("s.pdf", pdf, "application/pdf")},
                 data={"sender": "Intelligence Bureau", "subject": "Vigilance report omegaword",
                       "grading": "Secret"})
    assert r.status_code == 201, r.text
    secret = r.json()
    normal = diarise(api, subject="Routine omegaword letter")
    confidential = diarise(api, subject="Confidential omegaword note", grading="Confidential")
    rid = secret["id"]
    for user in ("so", "us", "ds", "secretary", "collector"):
        message = error(api.get(f"/receipts/{rid}", user), 403)
        assert "graded Secret" in message
        assert api.get(f"/receipts/{rid}/pdf", user).status_code == 403
        assert ("receipt", rid) not in found(api, user, "omegaword")
    assert ("receipt", rid) in found(api, "clerk", "omegaword")
    assert readable(api, "auditor", f"/receipts/{rid}")
    # the monitoring officer (rank 5) reads Normal and Confidential, never Secret
    assert found(api, "collector", "omegaword", "receipt") == {
        ("receipt", normal["id"]), ("receipt", confidential["id"])}

    act(api, "clerk", task_for(api, "clerk", receipt_id=rid)["id"], action="forward", to="so")
    assert readable(api, "so", f"/receipts/{rid}")
    assert api.get(f"/receipts/{rid}/pdf", "so").content == pdf
    assert not readable(api, "us", f"/receipts/{rid}")


def test_monitoring_officer_reads_the_department_but_cannot_act(api):
    file = open_file(api, subject="Annual property returns", head="11013")
    fid = file["id"]
    expect(api.post(f"/files/{fid}/notes", "clerk",
                    json={"text": "Returns received from 40 staff."}), 201)
    for path in (f"/files/{fid}", f"/files/{fid}/track", f"/files/{fid}/history"):
        assert readable(api, "collector", path)
    assert fid in [f["id"] for f in api.get("/files", "collector",
                                            params={"q": "property returns"}).json()]
    task = task_for(api, "clerk", file_id=fid)
    assert "not in your inbox" in error(api.post(f"/tasks/{task['id']}", "collector",
                                                 json={"action": "forward", "to": "so"}), 403)
    r = api.post(f"/files/{fid}/notes", "collector", json={"text": "Collector's remark"})
    assert error(r, 403).startswith("only the holder")
    assert all(t.get("file_id") != fid for t in inbox(api, "collector"))
    assert len(api.get(f"/files/{fid}", "auditor").json()["notes"]) == 1


def test_grant_gives_read_is_recorded_and_revocable(api):
    file = open_file(api, subject="Disciplinary case kappaword", head="11013")
    fid = file["id"]
    grant = {"user": "us", "file_id": fid, "reason": "Inquiry officer needs the file"}
    # the holder here is a Dealing Assistant: below Section Officer, so no
    r = api.post("/grants", "clerk", json=grant)
    assert "Section Officer rank" in error(r, 403)
    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="so")
    assert "reason" in error(api.post("/grants", "so", json={**grant, "reason": " "}), 422)
    assert "until" in error(api.post("/grants", "so", json={**grant, "until": "2020-01-01"}),
                            422)
    assert "either file_id or receipt_id" in error(
        api.post("/grants", "so", json={**grant, "receipt_id": 1}), 422)
    assert not readable(api, "us", f"/files/{fid}")

    r = api.post("/grants", "so", json={**grant, "until": "2099-12-31"})
    assert r.status_code == 201, r.text
    given = r.json()
    assert given["active"]
    assert given["user"] == "us"
    assert given["granted_by"] == "so"
    assert readable(api, "us", f"/files/{fid}")
    assert readable(api, "us", f"/files/{fid}/track")
    assert ("file", fid) in found(api, "us", "kappaword")
    # still read-only: the grant gives no task
    assert all(t.get("file_id") != fid for t in inbox(api, "us"))
    # recorded: the grants list, the file's chained history and the audit log
    listed = api.get("/grants", "so", params={"file_id": fid}).json()
    assert [g["id"] for g in listed] == [given["id"]]
    events = api.get(f"/files/{fid}/history", "auditor").json()
    granted = [e for e in events if e["kind"] == "access_granted"]
    assert granted
    assert granted[0]["actor"] == "so"
    assert granted[0]["data"]["user"] == "us"
    audit = api.get("/admin/audit", "admin").json()
    assert any(a["kind"] == "access_granted" and a["subject"] == file["file_no"] for a in audit)

    assert api.call("DELETE", f"/grants/{given['id']}", "ds").status_code == 403
    r = api.call("DELETE", f"/grants/{given['id']}", "so")
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert not readable(api, "us", f"/files/{fid}")
    assert ("file", fid) not in found(api, "us", "kappaword")
    assert error(api.call("DELETE", f"/grants/{given['id']}", "so"), 409)
    kinds = [e["kind"] for e in api.get(f"/files/{fid}/history", "auditor").json()]
    assert kinds.index("access_granted") < kinds.index("access_revoked")


def test_admin_grants_a_secret_receipt_to_the_monitor(api):
    secret = diarise(api, subject="Sealed cover", grading="Secret")
    assert not readable(api, "collector", f"/receipts/{secret['id']}")
    r = api.post("/grants", "admin", json={"user": "collector", "receipt_id": secret["id"],
                                           "reason": "Review ordered by government"})
    assert r.status_code == 201, r.text
    assert readable(api, "collector", f"/receipts/{secret['id']}")
    assert any(e["kind"] == "access_granted"
               for e in api.get(f"/receipts/{secret['id']}", "collector").json()["history"])


def test_grant_lapses_at_its_time(api, clock):
    file = open_file(api, subject="Tender committee minutes", head="11013")
    fid = file["id"]
    act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward", to="so")
    until = (clock.now() + timedelta(seconds=3)).isoformat()
    r = api.post("/grants", "so", json={"user": "ds", "file_id": fid, "until": until,
                                        "reason": "Minutes to be seen before the meeting"})
    assert r.status_code == 201, r.text
    assert readable(api, "ds", f"/files/{fid}")
    assert readable(api, "ds", f"/files/{fid}")  # time stands still: not lapsed yet
    clock.advance(3.5)
    assert not readable(api, "ds", f"/files/{fid}")
    listed = api.get("/grants", "so", params={"file_id": fid}).json()
    assert [g["active"] for g in listed] == [False]
