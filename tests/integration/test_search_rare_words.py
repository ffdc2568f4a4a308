"""Search by an officer takes one of two ways on PostgreSQL: rare words are looked up in
the full-text index first and only their matches checked against what the officer may
read; common words walk the officer's own items. Both must give exactly the same hits:
every visibility rule (the chain, a receipt in a file, grading, monitoring, grants)."""

from __future__ import annotations

import pytest

from engine.search import index as search
from tests.flow import act, diarise, expect, open_file, task_for

WORDS = ["sigmaword", "sigmaword routine", "सिग्मा", "11013"]


def _hits(service, users, ways: str, monkeypatch) -> dict[tuple[str, str], list]:
    monkeypatch.setattr(search, "_all_rare", lambda s, terms: ways == "rare")
    out = {}
    for name, user in users.items():
        for q in WORDS:
            with service.db.reader() as s:
                out[(name, q)] = [(d.kind, d.item_id) for d in search.matching(s, user, q)]
    return out


def test_rare_words_find_exactly_what_walking_the_officers_items_finds(
        api, demo, users, monkeypatch):
    if demo.db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's FTS5 query is one way")
    # a receipt put up in a file that then moves on: read through the file's chain
    in_file = diarise(api, subject="Letter sigmaword routine")
    moved = open_file(api, subject="Promotion sigmaword सिग्मा", head="11013",
                      receipt_id=in_file["id"])
    act(api, "clerk", task_for(api, "clerk", file_id=moved["id"])["id"], action="forward",
        to="so")
    open_file(api, subject="Routine sigmaword file", head="11013")
    diarise(api, subject="Confidential sigmaword सिग्मा", grading="Confidential")
    diarise(api, subject="Secret sigmaword", grading="Secret")
    granted = open_file(api, subject="Granted sigmaword", head="11013")
    act(api, "clerk", task_for(api, "clerk", file_id=granted["id"])["id"], action="forward",
        to="so")
    expect(api.post("/grants", "so", json={"user": "us", "file_id": granted["id"],
                                           "reason": "Inquiry", "until": "2099-12-31"}), 201)

    walked = _hits(demo, users, "walk", monkeypatch)
    looked_up = _hits(demo, users, "rare", monkeypatch)
    assert looked_up == walked
    # the scenario reaches several rules: someone sees some but not all of them
    assert any(0 < len(v) < len(walked[("auditor", k[1])]) for k, v in walked.items())
