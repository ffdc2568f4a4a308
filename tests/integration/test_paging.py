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
