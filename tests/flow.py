"""The one home of the helpers that move receipts and files between desks in tests.

API helpers take a client (`api` fixture: tests/clients.py) and a username; service
helpers take the `Sanchika` facade and a `User`. Each helper has one signature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# ------------------------------------------------------------------ over the API


def inbox(api: Any, user: str) -> list[dict]:
    r = api.get("/tasks", user)
    assert r.status_code == 200, r.text
    return r.json()


def task_for(api: Any, user: str, *, file_id: int | None = None,
             receipt_id: int | None = None) -> dict:
    """The user's open task on the file or receipt (exactly one of them is given)."""
    assert (file_id is None) != (receipt_id is None), "name a file or a receipt"
    for task in inbox(api, user):
        if (file_id and task.get("file_id") == file_id) or (
                receipt_id and task.get("receipt_id") == receipt_id):
            return task
    raise AssertionError(f"{user} has no task for file {file_id} / receipt {receipt_id}")


def act(api: Any, user: str, task_id: int, **body: Any) -> dict:
    """Complete a task (POST /tasks/<id>); the action must succeed."""
    r = api.post(f"/tasks/{task_id}", user, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def act_on_file(api: Any, user: str, file_id: int, **body: Any) -> dict:
    """`act` on the user's task on the file."""
    return act(api, user, task_for(api, user, file_id=file_id)["id"], **body)


def diarise(api: Any, user: str = "clerk", **fields: Any) -> dict:
    body = {"sender": "Director, Treasury", "subject": "Pay fixation", "mode": "post", **fields}
    r = api.post("/receipts", user, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def open_file(api: Any, user: str = "clerk", subject: str = "Test file", head: str = "11011",
              **fields: Any) -> dict:
    r = api.post("/files", user, json={"subject": subject, "head": head, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def expect(r: Any, status: int) -> Any:
    """The JSON body of a call that must answer with the given status (no body: None)."""
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


def error(r: Any, status: int) -> str:
    """The error message of a refused call, which must have the given status."""
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]["message"]


# ------------------------------------------------------------------ through the facade


def inbox_task(service: Any, user: Any, *, file_id: int | None = None,
               receipt_id: int | None = None) -> dict:
    """The user's open task on the file or receipt, read through the facade."""
    assert (file_id is None) != (receipt_id is None), "name a file or a receipt"
    for task in service.inbox(user):
        if (file_id and task.get("file_id") == file_id) or (
                receipt_id and task.get("receipt_id") == receipt_id):
            return task
    raise AssertionError(f"{user.username} has no task for file {file_id} / receipt "
                         f"{receipt_id}")


def pass_due_time(clock: Any, service: Any, user: Any, *, file_id: int) -> None:
    """Move the test clock just past the due time of the user's task on the file."""
    task = inbox_task(service, user, file_id=file_id)
    clock.advance_past(datetime.fromisoformat(task["due_at"]))
