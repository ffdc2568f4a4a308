"""Small helpers for API tests that move receipts and files between desks."""

from __future__ import annotations


def inbox(api, user: str) -> list[dict]:
    r = api.get("/tasks", user)
    assert r.status_code == 200, r.text
    return r.json()


def task_for(api, user: str, *, file_id: int | None = None,
             receipt_id: int | None = None) -> dict:
    for task in inbox(api, user):
        if (file_id and task.get("file_id") == file_id) or (
                receipt_id and task.get("receipt_id") == receipt_id):
            return task
    raise AssertionError(f"{user} has no task for file {file_id} / receipt {receipt_id}")


def act(api, user: str, task_id: int, **body) -> dict:
    r = api.post(f"/tasks/{task_id}", user, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def diarise(api, user: str = "clerk", **fields) -> dict:
    body = {"sender": "Director, Treasury", "subject": "Pay fixation", "mode": "post", **fields}
    r = api.post("/receipts", user, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def open_file(api, user: str = "clerk", **fields) -> dict:
    r = api.post("/files", user, json={"subject": "Leave rules", "head": "11013", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def error(r, status: int) -> str:
    assert r.status_code == status, r.text
    return r.json()["error"]["message"]
