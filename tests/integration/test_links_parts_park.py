"""Related files, part files, and parking."""

from __future__ import annotations

from tests.flow import act_on_file, error, expect, open_file, task_for


def test_links_are_listed_from_both_sides(api):
    a = open_file(api, subject="Main matter")
    b = open_file(api, subject="Related matter")
    r = api.post(f"/files/{a['id']}/links", "clerk", json={"other_file_id": b["id"]})
    assert r.status_code == 201, r.text
    assert [f["file_no"] for f in api.get(f"/files/{a['id']}", "collector").json()["links"]] == [
        b["file_no"]]
    assert [f["file_no"] for f in api.get(f"/files/{b['id']}", "collector").json()["links"]] == [
        a["file_no"]]
    error(api.post(f"/files/{b['id']}/links", "clerk", json={"other_file_id": a["id"]}), 409)
    error(api.post(f"/files/{a['id']}/links", "clerk", json={"other_file_id": a["id"]}), 422)
    error(api.post(f"/files/{a['id']}/links", "so", json={"other_file_id": b["id"]}), 403)
    error(api.post(f"/files/{a['id']}/links", "clerk", json={"other_file_id": 99999}), 404)


def test_part_files(api):
    main = open_file(api, subject="Recruitment of JAs", head="1201")
    act_on_file(api, "clerk", main["id"], action="forward", to="ds")
    # the main file is with the DS; the clerk opens a part file to go on working
    r = api.post(f"/files/{main['id']}/parts", "clerk", json={"subject": "Roster points"})
    assert r.status_code == 201, r.text
    part = r.json()
    assert part["file_no"] == main["file_no"] + "/P1"
    assert part["main_file"]["id"] == main["id"]
    assert part["part_no"] == 1
    assert task_for(api, "clerk", file_id=part["id"])["name"] == "Noting"
    assert part["instance_id"] != api.get(f"/files/{main['id']}", "ds").json()["instance_id"]
    second = api.post(f"/files/{main['id']}/parts", "ds", json={}).json()
    assert second["file_no"] == main["file_no"] + "/P2"
    assert second["subject"] == "Recruitment of JAs"
    listed = api.get(f"/files/{main['id']}", "ds").json()["part_files"]
    assert [p["file_no"] for p in listed] == [part["file_no"], second["file_no"]]
    # a part of a part is refused
    error(api.post(f"/files/{part['id']}/parts", "clerk", json={}), 422)
    # the part file moves on its own
    act_on_file(api, "clerk", part["id"], action="forward", to="so")
    assert task_for(api, "so", file_id=part["id"])["name"] == "Noting"


def test_park_and_unpark(api):
    fid = open_file(api, subject="To be parked")["id"]
    error(api.post(f"/files/{fid}/park", "so"), 403)
    r = api.post(f"/files/{fid}/park", "clerk")
    assert r.status_code == 200
    assert r.json()["parked"] is True
    assert all(t.get("file_id") != fid for t in api.get("/tasks", "clerk").json())
    parked = api.get("/parked", "clerk").json()
    assert [t["file_id"] for t in parked] == [fid]
    assert parked[0]["parked"] is True
    assert parked[0]["overdue"] is False
    view = api.get(f"/files/{fid}", "auditor").json()
    assert view["parked"] is True
    assert view["holder"]["code"] == "GAD-EST-DA"
    assert view["parked_by"] == "clerk"
    error(api.post(f"/files/{fid}/park", "clerk"), 409)

    assert api.post(f"/files/{fid}/unpark", "clerk").json()["parked"] is False
    assert task_for(api, "clerk", file_id=fid)["parked"] is False
    assert api.get("/parked", "clerk").json() == []
    error(api.post(f"/files/{fid}/unpark", "clerk"), 409)

    # acting on a parked file takes it up again
    expect(api.post(f"/files/{fid}/park", "clerk"), 200)
    task_id = api.get("/parked", "clerk").json()[0]["id"]
    assert api.post(f"/tasks/{task_id}", "clerk",
                    json={"action": "forward", "to": "so"}).status_code == 200
    assert api.get(f"/files/{fid}", "so").json()["parked"] is False
    assert task_for(api, "so", file_id=fid)["parked"] is False
