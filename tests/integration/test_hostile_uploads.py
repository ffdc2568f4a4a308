"""Hostile uploads: PDFs past the reader's safety limits are a 422 naming the limit, a
PDF with active content is served sandboxed, each receipt's scan is served under its own
upload name, and a body over the size limit is a 413 that names the limit."""

from __future__ import annotations

from tests.pdfs import active_content_pdf, deep_page_tree_pdf, huge_page_array_pdf, make_pdf

FIELDS = {"sender": "Collector, Jaipur", "subject": "Scanned letter", "mode": "post"}


def diarise_with(api, pdf: bytes, name: str = "letter.pdf"):
    return api.post("/receipts", "clerk", data=FIELDS,
                    files={"pdf": (name, pdf, "application/pdf")})


def test_pdfs_past_the_reader_limits_are_refused(api, demo):
    before = api.get("/tasks", "clerk").json()
    for pdf, limit in ((huge_page_array_pdf(), "array element count"),
                       (deep_page_tree_pdf(), "page tree depth")):
        r = diarise_with(api, pdf)
        assert r.status_code == 422, r.text
        message = r.json()["error"]["message"]
        assert message.startswith("pdf: the PDF goes over a safety limit")
        assert limit in message
    assert api.get("/tasks", "clerk").json() == before
    assert not (demo.settings.data_dir / "uploads").exists()


def test_pdfs_served_sandboxed_under_each_receipts_own_name(api, server):
    pdf = active_content_pdf()
    first = diarise_with(api, pdf, "first-upload.pdf").json()
    second = diarise_with(api, pdf, "C:\\scans\\second upload.pdf").json()
    for receipt, name in ((first, "first-upload.pdf"), (second, "second upload.pdf")):
        r = api.get(f"/receipts/{receipt['id']}/pdf", "clerk")
        assert r.status_code == 200
        assert r.content == pdf
        assert r.headers["Content-Security-Policy"] == "sandbox"
        assert r.headers["Content-Disposition"].startswith("inline")
        assert name in r.headers["Content-Disposition"]


def test_too_large_body_names_the_limit(api, demo):
    limit = demo.settings.max_upload_bytes + 1024 * 1024
    r = api.request("POST", "/api/v1/receipts", data=b"x" * (limit + 1),
                    headers={"Authorization": f"Bearer {api.login('clerk')}",
                             "Content-Type": "application/octet-stream"})
    assert r.status_code == 413
    message = r.json()["error"]["message"]
    assert str(limit) in message
    assert "20 MB" in message


def test_ordinary_pdf_still_accepted(api):
    assert diarise_with(api, make_pdf("fine")).status_code == 201
