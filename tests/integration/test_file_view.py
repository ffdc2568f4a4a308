"""GET /files/{id} carries everything an officer works with."""

from __future__ import annotations

from tests.flow import act_on_file, error, expect, open_file
from tests.pdfs import make_pdf


def test_file_view_has_every_part(api):
    letter = make_pdf("letter")
    receipt = api.post("/receipts", "clerk", data={"sender": "Treasury", "subject": "Pay"},
                       files={"pdf": ("t.pdf", letter, "application/pdf")}).json()
    f = open_file(api, subject="Everything", receipt_id=receipt["id"])
    fid = f["id"]
    corr = f["correspondence"][0]
    assert corr["pdf"] == f"/api/v1/receipts/{receipt['id']}/pdf"
    assert api.get(corr["document"].removeprefix("/api/v1"), "collector").content == letter
    r = api.post(f"/files/{fid}/notes", "clerk",
                 json={"text": "See PUC", "ref_correspondence_id": corr["correspondence_id"]})
    assert r.status_code == 201
    assert r.json()["ref_correspondence_id"] == corr[
        "correspondence_id"]
    error(api.post(f"/files/{fid}/notes", "clerk",
                   json={"text": "bad ref", "ref_correspondence_id": 424242}), 422)
    expect(api.post(f"/files/{fid}/yellow-notes", "clerk", json={"text": "my private draft"}),
           201)
    expect(api.post(f"/files/{fid}/drafts", "clerk",
                    json={"subject": "Reply", "text": "Dear Sir"}), 201)
    other = open_file(api, subject="Related")
    expect(api.post(f"/files/{fid}/links", "clerk", json={"other_file_id": other["id"]}), 201)
    expect(api.post(f"/files/{fid}/parts", "clerk", json={"subject": "Part"}), 201)
    expect(api.post(f"/files/{fid}/park", "clerk"), 200)

    view = api.get(f"/files/{fid}", "clerk").json()
    assert [n["para_no"] for n in view["notes"]] == [1]
    assert view["notes"][0]["ref_correspondence_id"] == corr["correspondence_id"]
    assert [y["text"] for y in view["yellow_notes"]] == ["my private draft"]
    assert [(d["subject"], d["version"], d["status"], d["text"]) for d in view["drafts"]] == [
        ("Reply", 1, "draft", "Dear Sir")]
    assert view["dispatches"] == []
    assert [x["id"] for x in view["links"]] == [other["id"]]
    assert [p["file_no"] for p in view["part_files"]] == [f["file_no"] + "/P1"]
    assert view["parked"] is True
    assert view["kind"] == "electronic"
    assert view["digitised_by"] is None
    assert api.get(f"/files/{fid}", "collector").json()["yellow_notes"] == []
    expect(api.post(f"/files/{fid}/unpark", "clerk"), 200)
    act_on_file(api, "clerk", fid, action="forward", to="so")
