"""An officer's search with more matches than it ranks (search.CANDIDATES): the ranked set
is the officer's newest visible matches, and never an item the officer may not read
(engine/search/index.py, `_candidates`)."""

from __future__ import annotations

from engine.search import index as search
from tests.flow import act, diarise, open_file, task_for


def _found(service, user, kind: str, limit: int) -> set[int]:
    with service.db.reader() as s:
        return {d.item_id for d in search.matching(s, user, "omegaword", kind, limit)}


def test_more_matches_than_candidates_gives_the_newest_visible(api, demo, users,
                                                               monkeypatch):
    # the common words' way on PostgreSQL (the officer's items walked newest first)
    monkeypatch.setattr(search, "_all_rare", lambda s, terms: False)
    monkeypatch.setattr(search, "CANDIDATES", 2)
    files = [open_file(api, subject=f"Pay fixation omegaword {i}")["id"] for i in range(6)]
    receipts = [diarise(api, subject=f"Letter omegaword {i}")["id"] for i in range(6)]
    # so reads the 1st, 3rd and 5th of each (sent to it); the 6th, newest, only the clerk
    for fid in files[0:5:2]:
        act(api, "clerk", task_for(api, "clerk", file_id=fid)["id"], action="forward",
            to="so")
    for rid in receipts[0:5:2]:
        act(api, "clerk", task_for(api, "clerk", receipt_id=rid)["id"], action="forward",
            to="so")

    so, clerk = users["so"], users["clerk"]
    assert _found(demo, so, "file", 2) == {files[4], files[2]}
    assert _found(demo, so, "receipt", 2) == {receipts[4], receipts[2]}
    assert _found(demo, clerk, "file", 2) == {files[5], files[4]}
    assert _found(demo, clerk, "receipt", 2) == {receipts[5], receipts[4]}
    # all of them when the candidates hold every match
    assert _found(demo, so, "file", 10) == set(files[0:5:2])
    assert _found(demo, so, "receipt", 10) == set(receipts[0:5:2])
    # both kinds: still only what so may read
    with demo.db.reader() as s:
        both = {(d.kind, d.item_id) for d in search.matching(s, so, "omegaword", None, 4)}
    assert both <= {("file", f) for f in files[0:5:2]} | {("receipt", r)
                                                          for r in receipts[0:5:2]}
    assert len(both) == 4
