"""Subject heads per department, file kind, and changing a file's priority grading."""

from __future__ import annotations

from tests.flow import act_on_file, error, open_file, task_for


def test_unknown_or_retired_head_is_refused_naming_head(api):
    msg = error(api.post("/files", "clerk", json={"subject": "x", "head": "424242"}), 422)
    assert msg.startswith("head:")
    assert "11011" in msg
    heads = api.get("/admin/subject-heads", "clerk", params={"department": "GAD"}).json()
    assert {"11011", "11012", "1201"} <= {h["code"] for h in heads}

    r = api.post("/admin/subject-heads", "admin",
                 json={"department": "GAD", "code": "424242", "title": "Pensions"})
    assert r.status_code == 201, r.text
    head = r.json()
    f = open_file(api, head="424242")
    assert f["file_no"].startswith("GAD/EST/424242/")
    assert f["head"] == "424242"
    error(api.post("/admin/subject-heads", "admin",
                   json={"department": "GAD", "code": "424242", "title": "Again"}), 409)
    error(api.post("/admin/subject-heads", "admin",
                   json={"department": "NOPE", "code": "1", "title": "x"}), 422)

    assert api.post(f"/admin/subject-heads/{head['id']}/retire", "admin").json()[
        "active"] is False
    assert "retired" in error(api.post("/files", "clerk",
                                       json={"subject": "y", "head": "424242"}), 422)
    # the old file keeps its number
    assert api.get(f"/files/{f['id']}", "clerk").json()["file_no"] == f["file_no"]


def test_only_admin_configures_heads(api):
    error(api.post("/admin/subject-heads", "so",
                   json={"department": "GAD", "code": "5", "title": "x"}), 403)
    heads = api.get("/admin/subject-heads", "admin").json()
    error(api.post(f"/admin/subject-heads/{heads[0]['id']}/retire", "clerk"), 403)


def test_file_kind(api):
    assert open_file(api)["kind"] == "electronic"
    assert open_file(api, kind="physical")["kind"] == "physical"
    error(api.post("/files", "clerk", json={"subject": "x", "head": "11011", "kind": "paper"}),
          422)


def test_priority_change_by_section_officer_updates_open_tasks(api):
    fid = open_file(api)["id"]
    assert task_for(api, "clerk", file_id=fid)["priority"] == "Normal"
    msg = error(api.post(f"/files/{fid}/priority", "clerk", json={"priority": "Immediate"}), 403)
    assert "Section Officer" in msg
    act_on_file(api, "clerk", fid, action="forward", to="so")
    r = api.post(f"/files/{fid}/priority", "so", json={"priority": "Immediate"})
    assert r.status_code == 200, r.text
    assert r.json()["previous"] == "Normal"
    assert task_for(api, "so", file_id=fid)["priority"] == "Immediate"
    assert api.get(f"/files/{fid}", "clerk").json()["priority"] == "Immediate"
    history = api.get(f"/files/{fid}/history", "so").json()
    assert any(e["kind"] == "priority_changed" and e["actor"] == "so" for e in history)
    error(api.post(f"/files/{fid}/priority", "so", json={"priority": "Whenever"}), 422)
