"""Digitising paper files with real PDFs, and serving stored documents only to readers."""

from __future__ import annotations

import hashlib

from engine.domain import org
from tests.flow import act_on_file, error, open_file
from tests.pdfs import make_pdf


def pdf_part(field: str, title: str, pages: int = 1):
    return (field, (f"{title}.pdf", make_pdf(title, pages), "application/pdf"))


def test_digitise_existing_physical_file_keeps_number(api, demo):
    paper = open_file(api, subject="Old pension case", kind="physical")
    assert paper["kind"] == "physical"
    sheets = make_pdf("note sheets 1-12", pages=3)
    letter = make_pdf("letter from AG")
    r = api.post("/files/digitise", "clerk", data={"file_id": paper["id"], "sender": "AG"},
                 files=[("note_sheet", ("notes.pdf", sheets, "application/pdf")),
                        ("correspondence", ("ag.pdf", letter, "application/pdf"))])
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["file_no"] == paper["file_no"]
    assert f["id"] == paper["id"]
    assert f["kind"] == "electronic"
    assert f["digitised_by"] == "clerk"
    assert f["digitised_at"]
    assert [(d["kind"], d["pages"]) for d in f["documents"]] == [("note_sheet", 3)]
    assert f["documents"][0]["sha256"] == hashlib.sha256(sheets).hexdigest()
    assert len(f["correspondence"]) == 1
    assert f["correspondence"][0]["sender"] == "AG"
    got = api.get(f["documents"][0]["pdf"].removeprefix("/api/v1"), "collector")
    assert got.status_code == 200
    assert got.content == sheets
    assert got.headers["Content-Type"] == "application/pdf"
    corr = api.get(f["correspondence"][0]["document"].removeprefix("/api/v1"), "collector")
    assert corr.status_code == 200
    assert corr.content == letter
    history = api.get(f"/files/{paper['id']}/history", "clerk").json()
    digitised = [e for e in history if e["kind"] == "digitised"]
    assert digitised
    assert digitised[0]["actor"] == "clerk"
    # already electronic now
    error(api.post("/files/digitise", "clerk", data={"file_id": paper["id"]},
                   files=[pdf_part("note_sheet", "again")]), 409)


def test_digitise_unregistered_paper_file_by_number(api):
    r = api.post("/files/digitise", "clerk",
                 data={"file_no": "GAD/EST/11011/7/2019", "subject": "Pay fixation 2019"},
                 files=[pdf_part("note_sheet", "sheets a"), pdf_part("note_sheet", "sheets b"),
                        pdf_part("correspondence", "letter 1"),
                        pdf_part("correspondence", "letter 2")])
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["file_no"] == "GAD/EST/11011/7/2019"
    assert f["year"] == 2019
    assert f["serial"] == 7
    assert f["kind"] == "electronic"
    assert len(f["documents"]) == 2
    assert len(f["correspondence"]) == 2
    assert f["holder"]["code"] == "GAD-EST-DA"
    act_on_file(api, "clerk", f["id"], action="forward", to="so")  # it moves like any e-file
    # a new file of that head and year does not take serial 7
    r = api.post("/files/digitise", "clerk",
                 data={"file_no": "GAD/EST/11011/3/2019", "subject": "Older"},
                 files=[pdf_part("note_sheet", "older sheets")])
    assert r.status_code == 201, r.text


def test_digitise_refusals_change_nothing(api, demo):
    paper = open_file(api, subject="Paper", kind="physical")
    msg = error(api.post("/files/digitise", "clerk", data={"file_id": paper["id"]},
                         files=[("note_sheet", ("x.pdf", b"not a pdf", "application/pdf"))]),
                422)
    assert msg.startswith("note_sheet:")
    error(api.post("/files/digitise", "clerk", data={"file_id": paper["id"]},
                   files=[pdf_part("note_sheet", "ok"),
                          ("correspondence", ("bad.pdf", b"%PDF-1.7 junk", "x"))]), 422)
    error(api.post("/files/digitise", "clerk", data={"file_id": paper["id"]}), 422)
    error(api.post("/files/digitise", "clerk", data={"file_no": "7/2019"},
                   files=[pdf_part("note_sheet", "n")]), 422)
    error(api.post("/files/digitise", "clerk", data={"file_no": "GAD/EST/11011/8/2019"},
                   files=[pdf_part("note_sheet", "n")]), 422)  # no subject
    error(api.post("/files/digitise", "so", data={"file_id": paper["id"]},
                   files=[pdf_part("note_sheet", "n")]), 403)  # not the holder
    assert api.get(f"/files/{paper['id']}", "clerk").json()["kind"] == "physical"
    assert api.get(f"/files/{paper['id']}", "clerk").json()["documents"] == []
    error(api.post("/files/digitise", "clerk", json={"file_id": paper["id"]}), 422)


def test_document_served_only_to_readers(api, demo):
    with demo.db.transaction() as s:
        dept = org.ensure_department(s, "REV", "Revenue")
        sec = org.ensure_section(s, dept, "LR", "Land Records")
        post = org.ensure_post(s, sec, "REV-LR-DA", "Dealing Assistant, Land Records")
        org.ensure_user(s, "revclerk", "Revenue Clerk", "demo-pass-1", post=post)
    paper = open_file(api, subject="Secret-ish paper", kind="physical")
    sheets = make_pdf("gad only sheets")
    f = api.post("/files/digitise", "clerk", data={"file_id": paper["id"]},
                 files=[("note_sheet", ("s.pdf", sheets, "application/pdf"))]).json()
    path = f["documents"][0]["pdf"].removeprefix("/api/v1")
    assert api.get(path, "clerk").status_code == 200
    assert api.get(path, "auditor").status_code == 200
    error(api.get(path, "revclerk"), 403)
    assert api.get(path).status_code == 401
    error(api.get("/documents/" + "0" * 64, "clerk"), 404)
    error(api.get("/documents/nothex", "clerk"), 404)
    # a receipt's scan is a document too
    letter = make_pdf("receipt scan")
    r = api.post("/receipts", "clerk", data={"sender": "X", "subject": "Y"},
                 files={"pdf": ("l.pdf", letter, "application/pdf")})
    assert r.status_code == 201, r.text
    sha = hashlib.sha256(letter).hexdigest()
    assert api.get(f"/documents/{sha}", "collector").content == letter
    error(api.get(f"/documents/{sha}", "revclerk"), 403)
