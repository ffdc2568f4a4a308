"""The officer's desk services: the eOffice-style lists (tabs, views, sorting, filters,
paging, unread), acting with a due date and priority, batches where a refused item is
named and the rest go through, notifications with links in the reader's language, My
settings (password, channels) and the registers."""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from engine.read.inbox import PAGE_SIZE, Query
from engine.store.models import OutboxMessage, User
from tests.conftest import PASSWORD


def _receipt(app, clerk, n: int) -> dict:
    return app.diarise(clerk, {"sender": f"Sender {n}", "subject": f"Letter {n}",
                               "mode": "post"})


def _task(app, user, kind: str, item_id: int) -> dict:
    return next(t for t in app.my_tasks(user, kind, item_id))


def test_lists_sort_filter_page_and_unread(demo, users):
    clerk, so = users["clerk"], users["so"]
    made = [_receipt(demo, clerk, n) for n in range(PAGE_SIZE + 3)]
    first = demo.desk_list(clerk, Query(tab="receipt", view="inbox", sort="number"))
    assert first["total"] >= PAGE_SIZE + 3
    assert len(first["rows"]) == PAGE_SIZE
    assert first["pages"] == 2
    numbers = [r["number"] for r in first["rows"]]
    assert numbers == sorted(numbers)
    second = demo.desk_list(clerk, Query(tab="receipt", view="inbox", sort="number", page=2))
    assert not set(numbers) & {r["number"] for r in second["rows"]}
    # the clerk diarised them: unread until opened
    row = next(r for r in first["rows"] if r["item_id"] == made[0]["id"])
    assert row["unread"]
    assert row["from_user"] == "Sender 0"
    demo.mark_read(clerk, "receipt", made[0]["id"])
    again = demo.desk_list(clerk, Query(tab="receipt", sort="number"))["rows"]
    assert not next(r for r in again if r["item_id"] == made[0]["id"])["unread"]

    # send three at once, one of them already gone: it is named, the others go through
    ids = [_task(demo, clerk, "receipt", r["id"])["id"] for r in made[:3]]
    demo.act(clerk, ids[2], {"action": "forward", "to": "GAD-EST-US"})
    out = demo.act_many(clerk, ids, {"action": "forward", "to": "so"}, due="2099-01-31",
                        priority="Immediate")
    assert [d["label"] for d in out["done"]] == [made[0]["diary_no"], made[1]["diary_no"]]
    assert out["done"][0]["to"]["code"] == "GAD-EST-SO"
    assert out["done"][0]["to_user"] == "Sunita Sharma"
    assert [r["label"] for r in out["refused"]] == [made[2]["diary_no"]]
    inbox = demo.desk_list(so, Query(tab="receipt", view="inbox", priority="Immediate"))
    assert {r["number"] for r in inbox["rows"]} == {made[0]["diary_no"], made[1]["diary_no"]}
    assert all(r["from_title"].startswith("Dealing Assistant") and
               r["from_user"] == "Ramesh Kumar" and r["due_at"].year == 2099
               for r in inbox["rows"])
    by_sender = demo.desk_list(so, Query(tab="receipt", sender="GAD-EST-DA"))
    assert by_sender["total"] >= 2
    assert demo.desk_list(so, Query(tab="receipt", sender="GAD-SECY"))["total"] == 0
    sent = demo.desk_list(clerk, Query(tab="receipt", view="sent", sort="age"))
    assert {r["number"] for r in sent["rows"][:3]} == {m["diary_no"] for m in made[:3]}

    # several receipts into one new file, in one go
    tasks = [_task(demo, so, "receipt", r["id"])["id"] for r in made[:2]]
    filed = demo.file_receipts(so, tasks, subject="Letters together", head="11011")
    assert len(filed["done"]) == 2
    assert not filed["refused"]
    view = demo.file(so, filed["file"]["id"])
    assert {c["diary_no"] for c in view["correspondence"]} == {m["diary_no"] for m in made[:2]}
    created = demo.desk_list(so, Query(tab="file", view="created"))
    assert filed["file"]["file_no"] in {r["number"] for r in created["rows"]}

    with pytest.raises(InvalidInput):
        demo.desk_list(so, Query(tab="letters"))
    with pytest.raises(InvalidInput):
        demo.act_with(so, tasks[0], {"action": "forward", "to": "us"}, due="2001-01-01")


def test_notifications_link_count_and_speak_the_readers_language(demo, users):
    clerk, so = users["clerk"], users["so"]
    receipt = _receipt(demo, clerk, 1)
    demo.act(clerk, _task(demo, clerk, "receipt", receipt["id"])["id"],
             {"action": "forward", "to": "so"})
    before = demo.unread_notifications(so)
    assert before >= 1
    english = demo.notification_list(so, "en")["messages"]
    mine = next(m for m in english if receipt["diary_no"] in m["subject"])
    assert (mine["kind"], mine["item_id"], mine["unread"]) == ("receipt", receipt["id"], True)
    assert "(forwarded)" in mine["body"]
    hindi = demo.notification_list(so, "hi")["messages"]
    said = next(m for m in hindi if m["id"] == mine["id"])
    assert "प्राप्त" in said["subject"]
    assert "अग्रेषित" in said["body"]
    demo.mark_notifications_seen(so, max(m["id"] for m in english))
    assert demo.unread_notifications(so) == 0


def test_settings_password_and_channels(demo, users):
    so = users["so"]
    with pytest.raises(InvalidInput, match="old_password"):
        demo.change_password(so, "wrong", "Better-pass-2026", "Better-pass-2026")
    for weak in ("short1", "password1234", "so-pass-12345", "aaaaaabbbbbbbbb"):
        with pytest.raises(InvalidInput, match="new_password"):
            demo.change_password(so, PASSWORD, weak, weak)
    assert demo.change_password(so, PASSWORD, "Better-pass-2026", "Better-pass-2026") == 1
    assert demo.authenticate("so", "Better-pass-2026").id == so.id

    # e-mail off, SMS on: the outbox writes no e-mail row for her
    demo.save_settings(so, "hi", notify_email=False, notify_sms=True)
    assert demo.my_settings(so)["language"] == "hi"
    clerk = users["clerk"]
    receipt = _receipt(demo, clerk, 2)
    demo.act(clerk, _task(demo, clerk, "receipt", receipt["id"])["id"],
             {"action": "forward", "to": "so"})
    from sqlalchemy import select
    with demo.db.reader() as s:
        channels = set(s.scalars(select(OutboxMessage.channel).where(
            OutboxMessage.user_id == so.id,
            OutboxMessage.event_key.like(f"received:receipt:{receipt['id']}:%"))))
        assert s.get(User, so.id).language == "hi"
    assert channels == {"app", "sms"}


def test_registers(demo, users):
    clerk = users["clerk"]
    receipt = _receipt(demo, clerk, 3)
    diary = demo.diary_register(clerk)
    assert receipt["diary_no"] in {r["diary_no"] for r in diary["rows"]}
    with pytest.raises(InvalidInput):
        demo.diary_register(clerk, "2026-02-01", "2026-01-01")
    file = demo.open_file(clerk, "A register test", "11011")
    demo.act(clerk, _task(demo, clerk, "file", file["id"])["id"],
             {"action": "forward", "to": "so"})
    moves = demo.movement_register(clerk, file["id"])["rows"]
    assert moves[-1]["to"].startswith("Section Officer")
    assert moves[-1]["sent_by"] == "Ramesh Kumar"
