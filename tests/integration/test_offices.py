"""Offices above sections: a division with districts, a file sent from a district office
to a secretariat post and returned, the division's monitoring post seeing it; departments
and offices created and retired; users deactivated, reset and unlocked."""

from __future__ import annotations

from tests.flow import act, error, open_file, task_for
from tests.org_setup import setup_division as _setup_division


def test_file_goes_from_a_district_to_the_secretariat_and_back(api):
    _setup_division(api)
    file = open_file(api, "sehda", subject="Mutation dispute, village Ichhawar", head="21")
    assert file["file_no"].startswith("REV/SEH-EST/")
    # the commissioner (division) reads it: the district is under the division
    assert api.get(f"/files/{file['id']}", "commr").status_code == 200
    # the GAD collector (department scope elsewhere) does not
    assert api.get(f"/files/{file['id']}", "collector").status_code == 403

    act(api, "sehda", task_for(api, "sehda", file_id=file["id"])["id"], action="forward",
        to="us", note="Guidance sought from the secretariat.")
    # at the secretariat: the receiving department's post holds it; GAD's monitor sees it
    assert api.get(f"/files/{file['id']}", "collector").status_code == 200
    act(api, "us", task_for(api, "us", file_id=file["id"])["id"], action="return",
        note="Decide under the revenue code, para 12.")
    back = task_for(api, "sehda", file_id=file["id"])
    assert back["kind"] == "file"
    track = api.get(f"/files/{file['id']}/track", "commr").json()
    assert [m["to"]["code"] for m in track["movements"]][-2:] == ["GAD-EST-US", "SEH-DA"]


def test_office_rules(api):
    _setup_division(api)
    assert "cannot sit under" in error(api.post("/admin/offices", "admin", json={
        "code": "X-DIV", "name": "X", "kind": "division", "department": "REV",
        "parent": "REV-DIST-SEH"}), 422)
    assert "needs a parent" in error(api.post("/admin/offices", "admin", json={
        "code": "X-FLD", "name": "X", "kind": "field", "department": "REV"}), 422)
    assert error(api.post("/admin/departments", "admin",
                          json={"code": "REV", "name": "Again"}), 409)
    assert "admin role" in error(api.post("/admin/departments", "clerk",
                                          json={"code": "ZZ", "name": "Z"}), 403)
    # an office with people cannot be retired; one without can
    assert "still holds" in error(api.post("/admin/offices/REV-DIST-SEH/retire", "admin"), 409)
    assert "under it" in error(api.post("/admin/offices/REV-DIV-BPL/retire", "admin"), 409)
    r = api.post("/admin/offices", "admin", json={
        "code": "REV-FLD-1", "name": "Tehsil Ashta", "kind": "field", "department": "REV",
        "parent": "REV-DIST-SEH"})
    assert r.status_code == 201, r.text
    assert api.post("/admin/offices/REV-FLD-1/retire", "admin").json()["retired"]
    org = api.get("/admin/organisation", "admin").json()
    depth = {o["code"]: o["depth"] for o in org["offices"]}
    assert depth["REV-SECTT"] == 0
    assert depth["REV-DIST-SEH"] == 2
    assert api.post("/admin/departments", "admin",
                    json={"code": "TMP", "name": "Temporary"}).status_code == 201
    assert api.post("/admin/departments/TMP/retire", "admin").json()["retired"]
    assert "retired" in error(api.post("/admin/offices", "admin", json={
        "code": "TMP-X", "name": "X", "kind": "directorate", "department": "TMP"}), 422)


def test_deactivate_reactivate_and_reset_code(api):
    r = api.post("/admin/users/clerk/deactivate", "admin")
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert api.post("/auth/token", json={"username": "clerk",
                                         "password": "demo-pass-1"}).status_code == 401
    # the post counts as vacant: a new user takes it and finds the pending items there
    r = api.post("/admin/users", "admin", json={"username": "clerk2", "full_name": "New DA",
                                                "password": "demo-pass-1", "post": "GAD-EST-DA"})
    assert r.status_code == 201, r.text
    assert any(t.get("receipt_id") for t in api.get("/tasks", "clerk2").json())
    # back, but without the post someone else holds now
    r = api.post("/admin/users/clerk/reactivate", "admin")
    assert r.status_code == 200
    assert r.json()["post"] is None

    code = api.post("/admin/users/so/reset-code", "admin").json()["code"]
    assert error(api.post("/admin/reset-code", json={
        "username": "so", "code": "WRONG-CODE-0000", "password": "new-pass-2026"}), 401)
    assert "at least" in error(api.post("/admin/reset-code", json={
        "username": "so", "code": code, "password": "short1"}), 422)
    assert api.post("/admin/reset-code", json={
        "username": "so", "code": code.lower(), "password": "new-pass-2026"}).status_code == 204
    assert api.post("/auth/token", json={"username": "so",
                                         "password": "new-pass-2026"}).status_code == 200
    assert error(api.post("/admin/reset-code", json={  # once only
        "username": "so", "code": code, "password": "new-pass-2027"}), 401)
    assert "admin role" in error(api.post("/admin/users/so/reset-code", "clerk2"), 403)
    users = {u["username"]: u for u in api.get("/admin/users", "admin").json()}
    assert users["clerk"]["active"]
    assert not users["clerk"]["locked"]
    kinds = [e["kind"] for e in api.get("/admin/audit", "admin").json()]
    assert {"user_deactivated", "password_reset_issued", "password_reset_used"} <= set(kinds)


def test_state_monitoring_cell_reads_every_office(api):
    _setup_division(api)
    file = open_file(api, "sehda", subject="Pasture land encroachment", head="21")
    r = api.post("/admin/sections", "admin", json={"department": "GAD", "code": "CSCELL",
                                                   "name": "Chief Secretary's cell"})
    assert r.status_code == 201, r.text
    r = api.post("/admin/posts", "admin", json={
        "code": "CS-MON", "title": "Chief Secretary's monitoring cell", "department": "GAD",
        "section": "CSCELL", "rank": 6, "monitors": "state"})
    assert r.status_code == 201, r.text
    r = api.post("/admin/users", "admin", json={"username": "cs.cell", "full_name": "CS cell",
                                                "password": "demo-pass-1", "post": "CS-MON"})
    assert r.status_code == 201, r.text
    assert api.get(f"/files/{file['id']}", "cs.cell").status_code == 200
    # read-only: it holds no task for the file
    assert all(t.get("file_id") != file["id"] for t in api.get("/tasks", "cs.cell").json())
