"""Pull back: the last sender recalls a file the recipient has not opened."""

from __future__ import annotations

from sqlalchemy import select

from engine.store.models import OutboxMessage, User
from tests.flow import act_on_file, error, open_file, task_for


def messages(demo, username: str, event: str) -> set[str]:
    """The channels a user was notified on for an event."""
    with demo.db.reader() as s:
        user = s.scalar(select(User).where(User.username == username))
        return set(s.scalars(select(OutboxMessage.channel).where(
            OutboxMessage.event_key.like(f"{event}%"), OutboxMessage.user_id == user.id)))


def test_pull_back_before_opening(api, demo):
    fid = open_file(api, subject="Recall me")["id"]
    act_on_file(api, "clerk", fid, action="forward", to="so")
    sent = api.get("/sent", "clerk").json()
    assert sent[0]["id"] == fid
    assert sent[0]["kind"] == "file"
    assert sent[0]["can_pull_back"] is True
    assert sent[0]["opened_at"] is None
    assert sent[0]["to"]["code"] == "GAD-EST-SO"

    r = api.post(f"/files/{fid}/pullback", "clerk")
    assert r.status_code == 200, r.text
    assert r.json()["holder"]["code"] == "GAD-EST-DA"
    task = task_for(api, "clerk", file_id=fid)
    assert task["name"] == "Noting"
    assert all(t.get("file_id") != fid for t in api.get("/tasks", "so").json())
    assert api.get("/sent", "clerk").json()[0]["can_pull_back"] is False

    # both notified: the recipient on every channel, the sender too
    event = f"pulled_back:file:{fid}:"
    assert messages(demo, "so", event) == {"app", "email", "sms"}
    assert "app" in messages(demo, "clerk", event)
    history = api.get(f"/files/{fid}/history", "clerk").json()
    pulled = [e for e in history if e["kind"] == "pulled_back"]
    assert len(pulled) == 1
    assert pulled[0]["actor"] == "clerk"
    assert pulled[0]["data"]["from"] == "GAD-EST-SO"
    track = api.get(f"/files/{fid}/track", "clerk").json()
    assert [m["action"] for m in track["movements"]] == ["forward", "pulled_back"]
    assert track["holder"]["code"] == "GAD-EST-DA"
    # the file can be sent on again, and pulled back a second time is refused
    error(api.post(f"/files/{fid}/pullback", "clerk"), 409)
    act_on_file(api, "clerk", fid, action="forward", to="us")
    assert task_for(api, "us", file_id=fid)["name"] == "Noting"


def test_pull_back_after_opening_is_refused(api):
    fid = open_file(api, subject="Opened")["id"]
    act_on_file(api, "clerk", fid, action="forward", to="so")
    # someone else reading it does not count as opening
    assert api.get(f"/files/{fid}", "collector").status_code == 200
    assert api.get("/sent", "clerk").json()[0]["can_pull_back"] is True
    assert api.get(f"/files/{fid}", "so").status_code == 200
    sent = api.get("/sent", "clerk").json()[0]
    assert sent["opened_at"] is not None
    assert sent["can_pull_back"] is False
    assert "opened" in error(api.post(f"/files/{fid}/pullback", "clerk"), 409)
    assert task_for(api, "so", file_id=fid)["name"] == "Noting"


def test_only_the_last_sender_pulls_back(api):
    fid = open_file(api, subject="Not yours")["id"]
    act_on_file(api, "clerk", fid, action="forward", to="so")
    assert "last sender" in error(api.post(f"/files/{fid}/pullback", "collector"), 403)
    error(api.post(f"/files/{fid}/pullback", "so"), 403)
    never_sent = open_file(api, subject="Never sent")["id"]
    error(api.post(f"/files/{never_sent}/pullback", "clerk"), 409)


def test_pull_back_from_approver_returns_to_approval_step(api):
    fid = open_file(api, subject="Approver to secretary")["id"]
    act_on_file(api, "clerk", fid, action="forward", to="ds")
    assert task_for(api, "ds", file_id=fid)["name"] == "Approval"
    act_on_file(api, "ds", fid, action="forward", to="secretary")
    r = api.post(f"/files/{fid}/pullback", "ds")
    assert r.status_code == 200, r.text
    assert task_for(api, "ds", file_id=fid)["name"] == "Approval"
    # a return from there still goes to whoever sent it to ds (not the puller's target)
    act_on_file(api, "ds", fid, action="return")
    assert task_for(api, "clerk", file_id=fid)["name"] == "Noting"


def test_recipient_writing_a_note_counts_as_taken_up(api):
    fid = open_file(api, subject="Written in")["id"]
    act_on_file(api, "clerk", fid, action="forward", to="so")
    assert api.post(f"/files/{fid}/notes", "so", json={"text": "seen"}).status_code == 201
    assert "written" in error(api.post(f"/files/{fid}/pullback", "clerk"), 409)


def test_pull_back_racing_the_opening(api):
    """Opening and pulling back at the same moment: never both."""
    from concurrent.futures import ThreadPoolExecutor
    for _ in range(4):
        fid = open_file(api, subject="Race")["id"]
        act_on_file(api, "clerk", fid, action="forward", to="so")
        api.login("so")
        api.login("clerk")
        with ThreadPoolExecutor(2) as pool:
            opened = pool.submit(api.get, f"/files/{fid}", "so")
            pulled = pool.submit(api.post, f"/files/{fid}/pullback", "clerk")
            opened, pulled = opened.result(), pulled.result()
        assert opened.status_code == 200
        assert pulled.status_code in (200, 409), pulled.text
        first = api.get(f"/files/{fid}/track", "auditor").json()["movements"][0]
        if pulled.status_code == 200:
            assert first["opened_at"] is None
        else:
            assert first["opened_at"] is not None
