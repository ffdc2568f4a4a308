"""The background reading of stored PDFs: one document at a time, one page per
transaction, so progress is visible and a stop loses at most one page.

A document is claimed by inserting its `document_texts` row (the primary key lets one
process win); a claim whose process went quiet for STALE_AFTER is taken over. A server
that stops leaves its document 'paused' after the last whole page; the next run goes on
from there. Pages that need OCR while Tesseract is missing are kept as 'none' and the
document waits in 'needs_ocr' until OCR is there. When the last page is read, the
receipts and files the document belongs to are re-indexed, so their search finds the
letter's own words."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, or_, select, update

from engine.domain import uploads
from engine.errors import Conflict
from engine.ocr import pdfpages, tesseract
from engine.search import index as search_index
from engine.store.db import Database, get_or_404, rows_changed
from engine.store.file_models import FileDocument
from engine.store.models import Document, Receipt, utcnow
from engine.store.ocr_models import DocumentPage, DocumentText

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=15)


def _candidates(db: Database, ocr: bool) -> list[tuple[str, DocumentText | None]]:
    """Documents waiting to be read: never read, left running by a lost process, or
    waiting for OCR (when OCR is there now)."""
    with db.reader() as s:
        fresh = s.scalars(select(Document.sha256).where(
            Document.content_type == "application/pdf",
            ~Document.sha256.in_(select(DocumentText.sha256)))
            .order_by(Document.uploaded_at, Document.sha256).limit(5)).all()
        if fresh:
            return [(sha, None) for sha in fresh]
        stale = (DocumentText.status == "running") & (
            DocumentText.updated_at < utcnow() - STALE_AFTER)
        again = [stale, DocumentText.status == "paused"]
        if ocr:
            again.append(DocumentText.status == "needs_ocr")
        query = select(DocumentText).where(or_(*again))
        rows = s.scalars(query.order_by(DocumentText.updated_at).limit(5)).all()
        return [(r.sha256, r) for r in rows]


def _claim(db: Database, sha: str, row: DocumentText | None, pages: int) -> bool:
    try:
        with db.transaction() as s:
            if row is None:
                s.add(DocumentText(sha256=sha, status="running", pages_total=pages,
                                   pages_done=0, ocr_pages=0))
                return True
            done = s.execute(update(DocumentText).where(
                DocumentText.sha256 == sha, DocumentText.status == row.status,
                DocumentText.updated_at == row.updated_at).values(
                status="running", updated_at=utcnow(), error=None))
            return rows_changed(done) == 1
    except Conflict:
        return False  # another process claimed it first


def _page_done(db: Database, sha: str, number: int, source: str, text: str) -> None:
    with db.transaction() as s:
        s.execute(delete(DocumentPage).where(DocumentPage.sha256 == sha,
                                             DocumentPage.page_no == number))
        s.add(DocumentPage(sha256=sha, page_no=number, source=source, text=text))
        row = get_or_404(s, DocumentText, sha)
        s.flush()
        row.pages_done = len(s.scalars(select(DocumentPage.page_no).where(
            DocumentPage.sha256 == sha, DocumentPage.source != "none")).all())
        row.ocr_pages += 1 if source == "ocr" else 0
        row.updated_at = utcnow()


def read_document(db: Database, data_dir: Path, sha: str, row: DocumentText | None,
                  ocr: bool, should_stop: Callable[[], bool] = lambda: False) -> str | None:
    """Read one document's pages; its final status (None if another process has it)."""
    with db.reader() as s:
        document = get_or_404(s, Document, sha)
        already = {p.page_no: p.source for p in s.scalars(
            select(DocumentPage).where(DocumentPage.sha256 == sha))}
    try:
        data = uploads.read(data_dir, document)
    except uploads.StoredFileAltered as exc:
        data, error = None, str(exc)
    if data is None:
        if _claim(db, sha, row, document.pages):
            _finish(db, sha, "failed", error)
        return "failed"
    with pdfpages.opened(data) as pdf:
        total = len(pdf)
        if not _claim(db, sha, row, total):
            return None
        waiting = False
        try:
            for index in range(total):
                if should_stop():  # the server is stopping: the next run resumes here
                    _finish(db, sha, "paused", None)
                    return "paused"
                number = index + 1
                if already.get(number) in ("text_layer", "ocr"):
                    continue  # read before this claim (a resumed document)
                text = pdfpages.text_layer(pdf, index)
                if text is not None:
                    _page_done(db, sha, number, "text_layer", text)
                elif ocr:
                    _page_done(db, sha, number, "ocr",
                               tesseract.recognise(pdfpages.image(pdf, index)))
                else:
                    waiting = True
                    _page_done(db, sha, number, "none", "")
        except Exception as exc:  # a broken page or OCR failure: recorded, not raised
            log.warning("reading document %s failed", sha, exc_info=True)
            _finish(db, sha, "failed", f"{exc.__class__.__name__}: {str(exc)[:300]}")
            return "failed"
    status = "needs_ocr" if waiting else "done"
    _finish(db, sha, status, tesseract.status().message if waiting else None)
    return status


def _finish(db: Database, sha: str, status: str, error: str | None) -> None:
    with db.transaction() as s:
        row = get_or_404(s, DocumentText, sha)
        row.status, row.error = status, error
        row.updated_at = row.finished_at = utcnow()
        # the receipts and files this document belongs to: their search documents now
        # carry its text
        receipts = s.scalars(select(Receipt.id).where(Receipt.pdf_sha256 == sha)).all()
        files = s.scalars(select(FileDocument.file_id).where(FileDocument.sha256 == sha)).all()
        search_index.reindex(s, "receipt", receipts)
        search_index.reindex(s, "file", files)


def read_pending(db: Database, data_dir: Path, budget_seconds: float = 60.0,
                 should_stop: Callable[[], bool] = lambda: False) -> int:
    """Read waiting documents until the budget is spent (or should_stop says so, checked
    between pages); how many were finished."""
    started = time.monotonic()
    finished = 0
    ocr = tesseract.status().available
    while time.monotonic() - started < budget_seconds and not should_stop():
        candidates = _candidates(db, ocr)
        if not candidates:
            break
        progressed = False
        for sha, row in candidates:
            if read_document(db, data_dir, sha, row, ocr, should_stop) not in (None, "paused"):
                finished += 1
                progressed = True
            if time.monotonic() - started >= budget_seconds or should_stop():
                break
        if not progressed:
            break
    return finished
