"""Posts, not persons: transfers leave the pending items with the post; an additional
charge joins a second post's inbox to the officer's for a period. Administrator only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.domain import org
from engine.store.models import User
from tests.conftest import PASSWORD
from tests.flow import act, diarise, error, inbox, open_file, task_for


def test_admin_only(api):
    for user in ("clerk", "secretary", "auditor"):
        assert "admin role" in error(api.post("/admin/users/so/transfer", user,
                                              json={"post": "GAD-EST-US"}), 403)
        assert error(api.post("/admin/users/so/additional-charge", user,
                              json={"post": "GAD-EST-US", "until": "2099-01-01"}), 403)
        assert error(api.post("/admin/posts", user, json={
            "code": "X", "title": "X", "department": "GAD", "section": "EST"}), 403)
    assert error(api.call("DELETE", "/admin/users/so/additional-charge", "so"), 403)


def test_transfer_leaves_pending_items_with_the_post(api):
    pending = diarise(api, subject="Waiting on the DA's desk")
    pending_task = task_for(api, "clerk", receipt_id=pending["id"])
    old_inbox = {t["id"] for t in inbox(api, "clerk")}
    assert pending_task["id"] in old_inbox

    r = api.post("/admin/posts", "admin", json={
        "code": "GAD-EST-DA2", "title": "Dealing Assistant II, Establishment",
        "department": "GAD", "section": "EST", "rank": 1, "superior": "GAD-EST-SO"})
    assert r.status_code == 201, r.text
    assert error(api.post("/admin/users/clerk/transfer", "admin", json={"post": "GAD-EST-SO"}),
                 409) == "post: GAD-EST-SO is held by 'so'; transfer them first"
    assert "no post" in error(api.post("/admin/users/clerk/transfer", "admin",
                                       json={"post": "NOPE"}), 422)
    assert api.post("/admin/users/nobody/transfer", "admin",
                    json={"post": "GAD-EST-DA2"}).status_code == 404

    r = api.post("/admin/users/clerk/transfer", "admin", json={"post": "GAD-EST-DA2"})
    assert r.status_code == 200, r.text
    assert r.json()["post"]["code"] == "GAD-EST-DA2"
    assert inbox(api, "clerk") == []  # the new post's inbox, empty
    r = api.post(f"/tasks/{pending_task['id']}", "clerk",
                 json={"action": "forward", "to": "so"})
    assert "GAD-EST-DA" in error(r, 403)
    # the receipt stayed with the post; it is not the person's any more
    assert api.get(f"/receipts/{pending['id']}", "clerk").status_code == 403

    r = api.post("/admin/users", "admin", json={
        "username": "clerk2", "full_name": "Neha Verma", "password": PASSWORD,
        "post": "GAD-EST-DA"})
    assert r.status_code == 201, r.text
    assert {t["id"] for t in inbox(api, "clerk2")} == old_inbox
    act(api, "clerk2", pending_task["id"], action="forward", to="so")
    history = api.get(f"/receipts/{pending['id']}", "clerk2").json()["history"]
    done = [e for e in history if e["kind"] == "task_completed"][-1]
    assert done["actor"] == "clerk2"
    assert done["data"]["as_post"] == "GAD-EST-DA"
    # the clerk works at the new post
    new = diarise(api, subject="First letter at the new desk")
    assert task_for(api, "clerk", receipt_id=new["id"])
    audit = api.get("/admin/audit", "auditor").json()
    moved = [a for a in audit if a["kind"] == "user_transferred"]
    assert moved[0]["data"] == {"from": "GAD-EST-DA", "to": "GAD-EST-DA2"}


def test_additional_charge_joins_both_inboxes_and_ends(api, demo):
    today = org.office_today()
    file = open_file(api, subject="Budget estimates", head="11013")
    act(api, "clerk", task_for(api, "clerk", file_id=file["id"])["id"],
        action="forward", to="us")
    us_task = task_for(api, "us", file_id=file["id"])
    letter = diarise(api, subject="For the Section Officer")
    act(api, "clerk", task_for(api, "clerk", receipt_id=letter["id"])["id"],
        action="forward", to="so")
    assert inbox(api, "so")
    assert all(t["post"]["code"] == "GAD-EST-SO" for t in inbox(api, "so"))
    assert api.post(f"/tasks/{us_task['id']}", "so",
                    json={"action": "forward", "to": "ds"}).status_code == 403

    bad = {"post": "GAD-EST-US", "from": str(today), "until": str(today - timedelta(days=1))}
    assert "before 'from'" in error(api.post("/admin/users/so/additional-charge", "admin",
                                             json=bad), 422)
    assert "own post" in error(api.post("/admin/users/so/additional-charge", "admin",
                                        json={"post": "GAD-EST-SO", "until": str(today)}), 422)
    r = api.post("/admin/users/so/additional-charge", "admin",
                 json={"post": "GAD-EST-US", "until": str(today + timedelta(days=3))})
    assert r.status_code == 201, r.text
    assert r.json()["active"]
    assert r.json()["from"] == str(today)
    assert error(api.post("/admin/users/so/additional-charge", "admin",
                          json={"post": "GAD-EST-US", "until": str(today)}), 409)

    rows = inbox(api, "so")
    assert us_task["id"] in {t["id"] for t in rows}
    assert {t["post"]["code"] for t in rows} == {"GAD-EST-SO", "GAD-EST-US"}
    assert api.get(f"/files/{file['id']}", "so").status_code == 200
    act(api, "so", us_task["id"], action="forward", to="ds", note="Seen for US (addl. charge).")
    events = api.get(f"/files/{file['id']}/history", "so").json()
    done = [e for e in events if e["kind"] == "task_completed"][-1]
    assert done["actor"] == "so"
    assert done["data"]["as_post"] == "GAD-EST-US"
    note = api.get(f"/files/{file['id']}", "so").json()["notes"][-1]
    assert note["author"] == "so"
    assert note["post"]["code"] == "GAD-EST-US"
    # a yellow note, confirmed green, is written for the charged post too
    act(api, "ds", task_for(api, "ds", file_id=file["id"])["id"], action="return")
    r = api.post(f"/files/{file['id']}/yellow-notes", "so", json={"text": "Draft for US."})
    assert r.status_code == 201, r.text
    r = api.post(f"/yellow-notes/{r.json()['id']}/confirm", "so")
    assert r.status_code == 201, r.text
    note = api.get(f"/files/{file['id']}", "so").json()["notes"][-1]
    assert note["text"] == "Draft for US."
    assert note["post"]["code"] == "GAD-EST-US"
    person = api.get("/admin/users/so", "admin").json()
    assert [p["code"] for p in person["acting_posts"]] == ["GAD-EST-SO", "GAD-EST-US"]
    assert [p["code"] for p in api.get("/me", "so").json()["posts"]] == \
        ["GAD-EST-SO", "GAD-EST-US"]

    r = api.call("DELETE", "/admin/users/so/additional-charge", "admin")
    assert r.status_code == 200
    assert r.json()[0]["active"] is False
    assert {t["post"]["code"] for t in inbox(api, "so")} == {"GAD-EST-SO"}
    assert api.call("DELETE", "/admin/users/so/additional-charge", "admin").status_code == 404

    # a charge that ends today is in force today and gone tomorrow; one from tomorrow
    # is not in force yet
    r = api.post("/admin/users/us/additional-charge", "admin",
                 json={"post": "GAD-EST-DS", "until": str(today)})
    assert r.status_code == 201, r.text
    r = api.post("/admin/users/clerk/additional-charge", "admin",
                 json={"post": "GAD-EST-SO", "from": str(today + timedelta(days=1)),
                       "until": str(today + timedelta(days=2))})
    assert r.status_code == 201
    assert r.json()["active"] is False
    with demo.db.reader() as s:
        us = s.scalar(select(User).where(User.username == "us"))
        clerk = s.scalar(select(User).where(User.username == "clerk"))
        ds_post = s.scalar(select(User.post_id).where(User.username == "ds"))
        so_post = s.scalar(select(User.post_id).where(User.username == "so"))
        assert ds_post in org.acting_post_ids(s, us)
        tomorrow = org.utcnow() + timedelta(days=1)
        assert org.acting_post_ids(s, us, tomorrow) == [us.post_id]
        assert so_post not in org.acting_post_ids(s, clerk)
        assert so_post in org.acting_post_ids(s, clerk, tomorrow)
