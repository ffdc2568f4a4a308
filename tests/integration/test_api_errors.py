"""Bad input gets a clear status and message, and changes nothing."""

from __future__ import annotations

from tests.flow import task_for


def test_auth_required_and_wrong_password(api):
    r = api.get("/tasks")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    r = api.post("/auth/token", json={"username": "clerk", "password": "wrong"})
    assert r.status_code == 401
    r = api.get("/tasks", headers={"Authorization": "Bearer forged.token.value"})
    assert r.status_code == 401
    assert "invalid token" in r.json()["error"]["message"]


def test_missing_field_is_named(api):
    r = api.post("/receipts", "clerk", json={"subject": "no sender"})
    assert r.status_code == 422
    assert "sender" in r.json()["error"]["message"]
    r = api.post("/files", "clerk", json={"subject": "x", "head": "bad head!"})
    assert r.status_code == 422
    assert "head" in r.json()["error"]["message"]


def test_not_the_holder(api):
    fid = api.post("/files", "clerk", json={"subject": "Holder test", "head": "11011"}).json()["id"]
    task = task_for(api, "clerk", file_id=fid)
    r = api.post(f"/tasks/{task['id']}", "so", json={"action": "forward", "to": "us"})
    assert r.status_code == 403
    r = api.post(f"/files/{fid}/notes", "so", json={"text": "not mine"})
    assert r.status_code == 403
    assert api.get(f"/files/{fid}", "clerk").json()["notes"] == []


def test_action_not_allowed_here(api):
    fid = api.post("/files", "clerk",
                   json={"subject": "Approve early", "head": "11011"}).json()["id"]
    task = task_for(api, "clerk", file_id=fid)
    r = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "approve"})
    assert r.status_code == 422
    assert "allowed: forward, return, submit" in r.json()["error"]["message"]
    r = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "forward", "to": "nobody"})
    assert r.status_code == 422
    assert "nobody" in r.json()["error"]["message"]
    r = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "return"})
    assert r.status_code == 422
    # nothing moved
    assert api.get(f"/files/{fid}/track", "clerk").json()["movements"] == []


def test_only_approvers_approve(api):
    fid = api.post("/files", "clerk", json={"subject": "Authority", "head": "11011"}).json()["id"]
    r = api.post(f"/tasks/{task_for(api, 'clerk', file_id=fid)['id']}", "clerk",
                 json={"action": "submit", "to": "us"})
    assert r.status_code == 422
    assert "cannot approve" in r.json()["error"]["message"]


def test_priority_needs_section_officer(api):
    r = api.post("/files", "clerk", json={"subject": "Urgent", "head": "11011",
                                          "priority": "Immediate"})
    assert r.status_code == 403
    r = api.post("/files", "so",
                 json={"subject": "Urgent", "head": "11011", "priority": "Immediate"})
    assert r.status_code == 201
    assert task_for(api, "so", file_id=r.json()["id"])["priority"] == "Immediate"


def test_unknown_ids(api):
    assert api.get("/files/999999", "clerk").status_code == 404
    assert api.post("/tasks/999999", "clerk", json={"action": "forward"}).status_code == 404


def test_openapi_document(api):
    r = api.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/v1/receipts", "/api/v1/files", "/api/v1/tasks/{task_id}",
                 "/api/v1/process-definitions", "/api/v1/files/{file_id}/track"):
        assert path in paths


def test_the_document_is_written_on_first_use_once(web_app):
    """create_app leaves the OpenAPI document unwritten; concurrent first requests for it
    wait for one writer and all get the same whole document."""
    from concurrent.futures import ThreadPoolExecutor

    ext = web_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    assert not ext._written

    def fetch(_: int) -> bytes:
        r = web_app.test_client().get("/api/v1/openapi.json")
        assert r.status_code == 200
        return r.data

    with ThreadPoolExecutor(4) as pool:
        bodies = set(pool.map(fetch, range(4)))
    assert len(bodies) == 1
    assert ext._written
    assert len(web_app.test_client().get("/api/v1/openapi.json").json["paths"]) > 50
