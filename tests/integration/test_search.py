"""Search in Hindi and English over numbers, subjects, senders and the text of notes
(SQLite FTS5 here, PostgreSQL full text under SANCHIKA_TEST_DATABASE_URL)."""

from __future__ import annotations

from tests.flow import act, diarise, error, expect, open_file, task_for

HINDI_NOTE = ("प्रस्ताव नियमानुसार है। कर्मचारियों के वेतन निर्धारण हेतु आदेश जारी किए "
              "जाएं तथा वित्त विभाग की सहमति प्राप्त की जाए।")


def search(api, user: str, q: str, **params) -> list[dict]:
    r = api.get("/search", user, params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


def ids(hits: list[dict]) -> set[tuple[str, int]]:
    return {(h["kind"], h["id"]) for h in hits}


def test_hindi_and_english_over_subject_sender_notes_and_numbers(api):
    receipt = diarise(api, sender="अपर सचिव, वित्त विभाग", subject="स्थानांतरण नीति में परिवर्तन")
    english = diarise(api, sender="Director of Treasuries", subject="Quarterly audit memo")
    file = open_file(api, subject="Pay fixation of Junior Assistants", head="11011")
    r = api.post(f"/files/{file['id']}/notes", "clerk", json={"text": HINDI_NOTE})
    assert r.status_code == 201, r.text
    expect(api.post(f"/files/{file['id']}/notes", "clerk",
                    json={"text": "The Finance Department's concurrence is awaited."}), 201)
    f, rc, en = ("file", file["id"]), ("receipt", receipt["id"]), ("receipt", english["id"])
    mine = {f, rc, en}

    def ids(hits: list[dict]) -> set[tuple[str, int]]:
        """Among this test's items (the demo organisation has letters of its own)."""
        return {(h["kind"], h["id"]) for h in hits} & mine

    # Hindi: whole words in notes, subject and sender; several words must all match
    hits = search(api, "clerk", "निर्धारण")
    assert ids(hits) == {f}
    assert "निर्धारण" in hits[0]["snippet"]
    assert ids(search(api, "clerk", "वेतन निर्धारण")) == {f}
    assert ids(search(api, "clerk", "स्थानांतरण")) == {rc}
    assert ids(search(api, "clerk", "वित्त")) == {f, rc}  # note of one, sender of the other
    assert ids(search(api, "clerk", "वित्त सहमति")) == {f}
    # matras and virama belong to the word: no match on a fragment inside a word
    assert search(api, "clerk", "तन") == []        # only inside वेतन
    assert search(api, "clerk", "धारण") == []      # only inside निर्धारण
    assert search(api, "clerk", "कर्मचारी") == []   # कर्मचारियों has ि, not ी
    assert ids(search(api, "clerk", "कर्मचारियों")) == {f}
    # a word prefix finds inflected forms
    assert ids(search(api, "clerk", "नियमा")) == {f}  # नियमानुसार
    assert ids(search(api, "clerk", "स्थानां")) == {rc}

    # English, any case; notes, subject, sender
    assert ids(search(api, "clerk", "CONCURRENCE")) == {f}
    assert ids(search(api, "clerk", "fixation junior")) == {f}
    assert ids(search(api, "clerk", "treasuries")) == {en}
    assert search(api, "clerk", "fixation treasuries") == []

    # numbers: whole, or by their parts
    assert ids(search(api, "clerk", file["file_no"])) == {f}
    assert ids(search(api, "clerk", "11011")) == {f}
    assert ids(search(api, "clerk", receipt["diary_no"])) == {rc}
    assert ids(search(api, "clerk", receipt["ack_no"])) == {rc}

    hit = next(h for h in search(api, "clerk", "fixation") if h["id"] == file["id"])
    assert hit == {"kind": "file", "id": file["id"], "number": file["file_no"],
                   "subject": file["subject"], "sender": None, "snippet": file["subject"]}
    assert ids(search(api, "clerk", "वित्त", kind="receipt")) == {rc}
    assert len(search(api, "clerk", "वित्त", limit=1)) == 1
    assert "q" in error(api.get("/search", "clerk", params={"q": "।।"}), 422)
    assert "kind" in error(api.get("/search", "clerk", params={"q": "x", "kind": "note"}), 422)

    # GET /files?q= is the same search, over files
    r = api.get("/files", "clerk", params={"q": "वेतन निर्धारण"})
    assert [x["id"] for x in r.json()] == [file["id"]]


def test_index_follows_writes(api):
    file = open_file(api, subject="Residential quarters allotment", head="11013")
    assert search(api, "clerk", "allotment")
    assert search(api, "clerk", "गृह") == []
    act(api, "clerk", task_for(api, "clerk", file_id=file["id"])["id"], action="forward",
        to="so", note="आवास आवंटन समिति की बैठक में गृह आवंटन पर विचार किया जाए।")
    hits = search(api, "so", "गृह आवंटन")
    assert ids(hits) == {("file", file["id"])}
    assert "गृह" in hits[0]["snippet"]
    # a refused action leaves nothing in the index
    task = task_for(api, "so", file_id=file["id"])
    r = api.post(f"/tasks/{task['id']}", "so",
                 json={"action": "submit", "to": "us", "note": "उपेक्षितशब्द"})
    assert r.status_code == 422
    assert search(api, "so", "उपेक्षितशब्द") == []
