"""Scanned letters: checked as real PDFs, stored by content, served only to readers."""

from __future__ import annotations

import hashlib

from engine.domain.uploads import path_for
from tests.pdfs import make_pdf

FIELDS = {"sender": "Collector, Jaipur", "subject": "Scanned letter", "mode": "post"}


def diarise_with(api, pdf: bytes, name: str = "letter.pdf", user: str = "clerk"):
    return api.post("/receipts", user, data=FIELDS, files={"pdf": (name, pdf, "application/pdf")})


def test_upload_store_and_serve(api, demo):
    pdf = make_pdf("letter one", pages=2)
    r = diarise_with(api, pdf)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["pdf"] == f"/api/v1/receipts/{receipt['id']}/pdf"
    sha = hashlib.sha256(pdf).hexdigest()
    stored = path_for(demo.settings.data_dir, sha)
    assert stored.read_bytes() == pdf
    got = api.get(f"/receipts/{receipt['id']}/pdf", "clerk")
    assert got.status_code == 200
    assert got.content == pdf
    assert got.headers["Content-Type"] == "application/pdf"
    # the same scan again is stored once
    again = diarise_with(api, pdf, "copy.pdf").json()
    assert again["id"] != receipt["id"]
    assert len(list(stored.parent.iterdir())) == 1


def test_not_a_pdf_is_refused_and_nothing_stored(api, demo):
    before = api.get("/tasks", "clerk").json()
    for payload, word in ((b"hello, not a pdf", "not a PDF"),
                          (b"%PDF-1.7\n garbage without a page tree", "cannot be read"),
                          (b"", "empty")):
        r = diarise_with(api, payload)
        assert r.status_code == 422, r.text
        message = r.json()["error"]["message"]
        assert message.startswith("pdf:")
        assert word in message
    assert api.get("/tasks", "clerk").json() == before
    assert not (demo.settings.data_dir / "uploads").exists()


def test_size_limit(api, demo, monkeypatch):
    from dataclasses import replace
    monkeypatch.setattr(demo, "settings", replace(demo.settings, max_upload_bytes=500))
    r = diarise_with(api, make_pdf("big", pages=3))
    assert r.status_code == 422
    assert "over the limit" in r.json()["error"]["message"]


def test_missing_pdf_link_and_fields_checked(api):
    plain = api.post("/receipts", "clerk", json=FIELDS).json()
    assert plain["pdf"] is None
    assert api.get(f"/receipts/{plain['id']}/pdf", "clerk").status_code == 404
    r = api.post("/receipts", "clerk", data={"subject": "no sender"},
                 files={"pdf": ("a.pdf", make_pdf(), "application/pdf")})
    assert r.status_code == 422
    assert "sender" in r.json()["error"]["message"]
    assert api.get(f"/receipts/{plain['id']}/pdf").status_code == 401


def test_a_form_part_without_a_name_is_refused(api):
    # a part with no name reaches the form under None, which cannot be sorted with the
    # other fields' names: it answered 500
    body = (b"--B\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n"
            b'--B\r\nContent-Disposition: form-data; name="sender"\r\n\r\nme\r\n--B--\r\n')
    r = api.post("/receipts", "clerk", data=body,
                 content_type="multipart/form-data; boundary=B")
    assert r.status_code == 422, r.text
    assert "needs a name" in r.json()["error"]["message"]


def test_altered_stored_file_is_not_served(api, demo):
    pdf = make_pdf("to be altered")
    receipt = diarise_with(api, pdf).json()
    stored = path_for(demo.settings.data_dir, hashlib.sha256(pdf).hexdigest())
    stored.write_bytes(pdf + b"tampered")
    r = api.get(f"/receipts/{receipt['id']}/pdf", "clerk")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "stored_file_altered"
