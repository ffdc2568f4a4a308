"""OCR of scanned letters: an image-only PDF of a Hindi letter diarised as a receipt is
read in the background (Tesseract, hin+eng) and found by a word that is only in its body,
with the page and line; a PDF with a text layer is used as it is; without Tesseract the
reading waits, the admin page says why, and nothing else breaks."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bench.ocr import LETTERS, render
from engine.ocr import tesseract
from engine.ops import scheduler

ROOT = Path(__file__).resolve().parents[2]
needs_ocr = pytest.mark.skipif(
    not tesseract.status(fresh=True).available and os.environ.get("CI") != "true",
    reason="Tesseract with hin+eng not installed (scripts/test installs it)")
# The second Hindi letter: "नलकूप" (tube well) and "हैंडपंप" (hand pump) are only in its body.
HINDI = LETTERS["hin"][1]


@pytest.fixture
def settings(settings):
    """The test's settings, reading stored PDFs every half second."""
    return replace(settings, ocr_seconds=0.5)


def diarise_scan(api, pdf: bytes, subject: str, user: str = "clerk") -> dict:
    r = api.post("/receipts", user, files={"pdf": ("letter.pdf", pdf, "application/pdf")},
                 data={"sender": "ग्राम प्रधान, रामपुर", "subject": subject, "mode": "post",
                       "language": "hi"})
    assert r.status_code == 201, r.text
    return r.json()


def search(api, q: str, user: str = "clerk") -> list[dict]:
    r = api.get("/search", user, params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(predicate, what: str, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def text_pdf(line: str) -> bytes:
    """A one-page PDF whose text is a real text layer (Helvetica, ASCII)."""
    stream = f"BT /F1 14 Tf 72 720 Td ({line}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


@needs_ocr
def test_hindi_scan_is_found_by_a_word_of_its_body(demo, api, server):
    receipt = diarise_scan(api, render(HINDI, "hin", 300), "पेयजल की समस्या")
    assert search(api, "नलकूप") == []  # not read yet: the subject does not have the word
    jobs = scheduler.start(demo)
    try:
        hits = wait_for(lambda: search(api, "नलकूप"), "the letter to be read and indexed")
    finally:
        jobs.shutdown()
    assert [h["id"] for h in hits] == [receipt["id"]]
    assert hits[0]["page"] == 1
    assert "नलकूप" in hits[0]["line"]
    # a second word of the body, and a two-word query
    assert [h["id"] for h in search(api, "हैंडपंप मरम्मत")] == [receipt["id"]]
    text = api.get(f"/receipts/{receipt['id']}/text", "clerk").json()
    assert text["status"] == "done"
    assert text["pages_done"] == text["pages_total"] == 1
    assert text["pages"][0]["source"] == "ocr"
    assert "अधिशासी अभियंता" in text["pages"][0]["text"]


def test_text_layer_is_used_without_ocr_and_missing_tesseract_breaks_nothing(
        demo, api, server, monkeypatch):
    monkeypatch.setenv("SANCHIKA_TESSERACT", "/nonexistent/tesseract")
    assert not tesseract.status(fresh=True).available
    typed = diarise_scan(api, text_pdf("Quarterly statement of the Treasury Zanskar"),
                         "Treasury statement")
    # an image-only page, clean: what Tesseract reads from it is not checked here
    scanned = diarise_scan(api, render(HINDI[:80], "hin", 200, skew=0, noise=False),
                           "स्कैन पत्र")
    assert demo.read_scans(60) == 2
    assert [h["id"] for h in search(api, "Zanskar")] == [typed["id"]]
    hit = search(api, "zanskar")[0]
    assert hit["page"] == 1
    assert "Zanskar" in hit["line"]
    assert api.get(f"/receipts/{typed['id']}/text", "clerk").json()["pages"][0]["source"] \
        == "text_layer"
    waiting = api.get(f"/receipts/{scanned['id']}/text", "clerk").json()
    assert waiting["status"] == "needs_ocr"
    assert "not installed" in waiting["error"]
    state = api.get("/ocr/status", "admin").json()
    assert state["available"] is False
    assert "tesseract-ocr" in state["message"]
    assert state["by_status"] == {"done": 1, "needs_ocr": 1}
    assert api.get("/ocr/status", "clerk").status_code == 403
    # the admin page says so, in words
    from tests.integration.test_email_dak import _signed_in

    page = _signed_in(server, "admin").get(f"{server}/admin/ocr", timeout=10).text
    assert "OCR is not available" in page
    receipt_page = _signed_in(server, "clerk").get(
        f"{server}/receipts/{scanned['id']}", timeout=10).text
    assert "Waiting for OCR (not installed)" in receipt_page
    # once Tesseract is there, the waiting scan is read
    monkeypatch.delenv("SANCHIKA_TESSERACT")
    if tesseract.status(fresh=True).available:
        assert demo.read_scans(120) == 1
        assert api.get(f"/receipts/{scanned['id']}/text", "clerk").json()["status"] == "done"


@needs_ocr
@pytest.mark.skipif(bool(os.environ.get("SANCHIKA_TEST_DATABASE_URL")),
                    reason="uses no database: run once, on the SQLite pass")
def test_bench_tiny_reports_cer_and_speed(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench/ocr.py"), "--tiny", "--dpi", "200"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    cer = {m[0]: float(m[1]) for m in re.findall(r"^(Hindi|English)\s+CER\s+([\d.]+) %",
                                                  out.stdout, re.M)}
    assert cer["English"] <= 5, out.stdout
    assert cer["Hindi"] <= 10, out.stdout
    assert re.search(r"[\d.]+ pages per minute", out.stdout)


def test_a_stopping_server_pauses_between_pages_and_the_next_run_resumes(demo, api):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for line in ("First page about Ladakh roads", "Second page about Kargil bridges"):
        writer.add_page(PdfReader(io.BytesIO(text_pdf(line))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    receipt = diarise_scan(api, out.getvalue(), "Roads and bridges")
    pages_read: list[int] = []

    def stop_after_one_page() -> bool:
        text = api.get(f"/receipts/{receipt['id']}/text", "clerk").json()
        pages_read.append(text["pages_done"])
        return text["pages_done"] >= 1

    assert demo.read_scans(60, stop_after_one_page) == 0
    paused = api.get(f"/receipts/{receipt['id']}/text", "clerk").json()
    assert paused["status"] == "paused"
    assert paused["pages_done"] == 1
    assert demo.read_scans(60) == 1
    done = api.get(f"/receipts/{receipt['id']}/text", "clerk").json()
    assert done["status"] == "done"
    assert [p["page"] for p in done["pages"]] == [1, 2]
    assert [h["id"] for h in search(api, "Kargil")] == [receipt["id"]]
    assert search(api, "Kargil")[0]["page"] == 2
