"""Helpers shared by the files-in-depth API tests."""

from __future__ import annotations


def new_file(api, user: str = "clerk", subject: str = "Test file", head: str = "11011",
             **extra) -> dict:
    r = api.post("/files", user, json={"subject": subject, "head": head, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def task_for(api, user: str, file_id: int) -> dict:
    r = api.get("/tasks", user)
    assert r.status_code == 200, r.text
    for task in r.json():
        if task.get("file_id") == file_id:
            return task
    raise AssertionError(f"{user} has no task for file {file_id}")


def act(api, user: str, file_id: int, **body) -> dict:
    task = task_for(api, user, file_id)
    r = api.post(f"/tasks/{task['id']}", user, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()["error"]["message"]
