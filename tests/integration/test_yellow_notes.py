"""Yellow notes: private drafts of the holder, confirmed into green notes."""

from __future__ import annotations

from tests.flow import act_on_file, error, open_file


def test_yellow_note_edit_delete_confirm_and_privacy(api):
    fid = open_file(api)["id"]
    r = api.post(f"/files/{fid}/yellow-notes", "clerk", json={"text": "पहला मसौदा draft"})
    assert r.status_code == 201, r.text
    yid = r.json()["id"]
    assert r.json()["kind"] == "yellow"

    r = api.call("PATCH", f"/yellow-notes/{yid}", "clerk", json={"text": "second wording"})
    assert r.status_code == 200
    assert r.json()["text"] == "second wording"

    mine = api.get(f"/files/{fid}", "clerk").json()
    assert [n["text"] for n in mine["yellow_notes"]] == ["second wording"]
    assert mine["notes"] == []
    # nobody else sees, edits, deletes or confirms it
    other = api.get(f"/files/{fid}", "collector").json()
    assert other["yellow_notes"] == []
    assert other["notes"] == []
    assert api.get(f"/files/{fid}/yellow-notes", "collector").json() == []
    error(api.call("PATCH", f"/yellow-notes/{yid}", "so", json={"text": "x"}), 404)
    error(api.call("DELETE", f"/yellow-notes/{yid}", "so"), 404)
    error(api.post(f"/yellow-notes/{yid}/confirm", "so"), 404)

    # a second one is deleted
    y2 = api.post(f"/files/{fid}/yellow-notes", "clerk", json={"text": "throw away"}).json()
    assert api.call("DELETE", f"/yellow-notes/{y2['id']}", "clerk").status_code == 204
    assert [n["id"] for n in api.get(f"/files/{fid}/yellow-notes", "clerk").json()] == [yid]

    # a green note first, then the confirmed yellow note gets the next para number
    assert api.post(f"/files/{fid}/notes", "clerk", json={"text": "green one"}).json()[
        "para_no"] == 1
    r = api.post(f"/yellow-notes/{yid}/confirm", "clerk")
    assert r.status_code == 201, r.text
    assert r.json()["para_no"] == 2
    view = api.get(f"/files/{fid}", "collector").json()
    assert [(n["para_no"], n["text"]) for n in view["notes"]] == [
        (1, "green one"), (2, "second wording")]
    assert api.get(f"/files/{fid}/yellow-notes", "clerk").json() == []
    error(api.post(f"/yellow-notes/{yid}/confirm", "clerk"), 404)


def test_only_the_holder_writes_yellow_notes_and_confirms_while_holding(api):
    fid = open_file(api)["id"]
    error(api.post(f"/files/{fid}/yellow-notes", "so", json={"text": "not mine"}), 403)
    yid = api.post(f"/files/{fid}/yellow-notes", "clerk", json={"text": "kept"}).json()["id"]
    act_on_file(api, "clerk", fid, action="forward", to="so")
    # the file moved on: the author still sees and edits the draft, but cannot confirm it
    assert api.call("PATCH", f"/yellow-notes/{yid}", "clerk",
                    json={"text": "kept, edited"}).status_code == 200
    assert "holder" in error(api.post(f"/yellow-notes/{yid}/confirm", "clerk"), 403)
    error(api.post(f"/files/{fid}/yellow-notes", "clerk", json={"text": " "}), 422)


def test_note_references_a_correspondence_item_of_the_same_file(api):
    receipt = api.post("/receipts", "clerk", json={"sender": "Treasury", "subject": "Letter"})
    receipt = receipt.json()
    f1 = open_file(api, receipt_id=receipt["id"])
    corr_id = f1["correspondence"][0]["correspondence_id"]
    f2 = open_file(api, subject="Other file")
    r = api.post(f"/files/{f1['id']}/yellow-notes", "clerk",
                 json={"text": "As at PUC", "ref_correspondence_id": corr_id})
    assert r.status_code == 201
    assert r.json()["ref_correspondence_id"] == corr_id
    note = api.post(f"/yellow-notes/{r.json()['id']}/confirm", "clerk").json()
    assert note["ref_correspondence_id"] == corr_id
    assert api.get(f"/files/{f1['id']}", "clerk").json()["notes"][0][
        "ref_correspondence_id"] == corr_id
    # the item belongs to file 1, not to file 2
    msg = error(api.post(f"/files/{f2['id']}/yellow-notes", "clerk",
                         json={"text": "wrong", "ref_correspondence_id": corr_id}), 422)
    assert msg.startswith("ref_correspondence_id")
    error(api.post(f"/files/{f2['id']}/yellow-notes", "clerk",
                   json={"text": "missing", "ref_correspondence_id": 999999}), 422)


def test_green_notes_route_still_works(api):
    fid = open_file(api)["id"]
    r = api.post(f"/files/{fid}/notes", "clerk", json={"text": "green"})
    assert r.status_code == 201
    assert r.json() == {"file_id": fid, "para_no": 1, "text": "green"}
