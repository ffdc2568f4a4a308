"""Long lists come a page at a time over the API (inbox, a file's history, notifications):
the pages together are the whole list, in order, and a bad page is refused."""

from __future__ import annotations

from tests.flow import act_on_file, diarise, error, expect, inbox, open_file


def test_the_inbox_pages_cover_the_whole_inbox_in_order(api, demo):
    for i in range(3):
        diarise(api, subject=f"Paged letter {i}")
    whole = inbox(api, "clerk")
    assert len(whole) >= 3
    pages = [expect(api.get(f"/tasks?limit=2&page={p}", "clerk"), 200)
             for p in range(1, len(whole) // 2 + 2)]
    assert all(len(p) <= 2 for p in pages)
    assert [t["id"] for p in pages for t in p] == [t["id"] for t in whole]
    assert expect(api.get("/tasks?limit=2&page=1000", "clerk"), 200) == []


def test_a_file_history_pages_in_order(api, demo):
    file = open_file(api, subject="History in pages")
    act_on_file(api, "clerk", file["id"], action="forward", to="so", note="Please see.")
    whole = expect(api.get(f"/files/{file['id']}/history?limit=500", "clerk"), 200)
    assert len(whole) > 3
    first = expect(api.get(f"/files/{file['id']}/history?limit=3", "clerk"), 200)
    second = expect(api.get(f"/files/{file['id']}/history?limit=3&page=2", "clerk"), 200)
    assert first + second == whole[:6]


def test_notifications_page_newest_first(api, demo):
    file = open_file(api, subject="Notified in pages")
    act_on_file(api, "clerk", file["id"], action="forward", to="so", note="One.")
    act_on_file(api, "so", file["id"], action="return", note="Back.")
    whole = expect(api.get("/notifications?limit=500", "clerk"), 200)
    assert whole, "the return should have told the clerk"
    one = expect(api.get("/notifications?limit=1&page=1", "clerk"), 200)
    assert one == whole[:1]


def test_a_bad_page_is_refused_naming_the_field(api, demo):
    assert "page" in error(api.get("/tasks?page=0", "clerk"), 422)
    assert "limit" in error(api.get("/tasks?limit=501", "clerk"), 422)


def test_the_inbox_is_soonest_due_first_then_undated_each_row_labelled(api, demo):
    """The inbox page comes from one index-ordered statement: soonest due first, tasks
    without a due time after every dated one, ties by task id; each row carries its
    item's number and subject."""
    from datetime import timedelta

    from sqlalchemy import update

    from engine.store.models import OpenTask, utcnow

    letters = [diarise(api, subject=f"Ordered letter {i}") for i in range(3)]
    file = open_file(api, subject="Ordered file")
    tasks = {("receipt", t["receipt_id"]) if "receipt_id" in t else ("file", t["file_id"]):
             t["id"] for t in inbox(api, "clerk")}
    soon = utcnow() + timedelta(days=1)
    with demo.db.transaction() as s:  # a task without a due time, two due at the same time
        s.execute(update(OpenTask).where(OpenTask.id == tasks["receipt", letters[0]["id"]])
                  .values(due_at=None))
        for item in (("receipt", letters[1]["id"]), ("file", file["id"])):
            s.execute(update(OpenTask).where(OpenTask.id == tasks[item]).values(due_at=soon))
    whole = inbox(api, "clerk")
    keys = [(t["due_at"] is None, t["due_at"] or "", t["id"]) for t in whole]
    assert keys == sorted(keys)
    assert whole[-1]["id"] == tasks["receipt", letters[0]["id"]]
    by_id = {t["id"]: t for t in whole}
    assert by_id[tasks["file", file["id"]]]["number"] == file["file_no"]
    assert by_id[tasks["file", file["id"]]]["subject"] == "Ordered file"
    letter = by_id[tasks["receipt", letters[2]["id"]]]
    assert (letter["number"], letter["subject"]) == (letters[2]["diary_no"], "Ordered letter 2")
    assert letter["post"]["code"]
    assert "receipt_id" in letter
    assert "file_id" not in letter
