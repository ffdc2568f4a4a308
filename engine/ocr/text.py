"""Recognised text where it is used: in the search documents of receipts and files, in
search hits (the page and line that matched), and beside a scan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.store.file_models import FileDocument
from engine.store.models import Receipt
from engine.store.ocr_models import DocumentPage, DocumentText

PAGE_MARK = "\n\n"  # between pages inside a search document's body


def _pages(conn: Connection | Session, shas: list[str]) -> list[tuple[str, int, str]]:
    if not shas:
        return []
    return list(conn.execute(select(DocumentPage.sha256, DocumentPage.page_no,
                                    DocumentPage.text)
                             .where(DocumentPage.sha256.in_(shas), DocumentPage.text != "")
                             .order_by(DocumentPage.sha256, DocumentPage.page_no)).all())


def _shas(conn: Connection | Session, kind: str, item_id: int) -> list[str]:
    if kind == "receipt":
        sha = conn.execute(select(Receipt.pdf_sha256).where(Receipt.id == item_id)).scalar()
        return [sha] if sha else []
    return list(conn.execute(select(FileDocument.sha256).where(
        FileDocument.file_id == item_id).order_by(FileDocument.id)).scalars())


def text_for(conn: Connection | Session, kind: str, item_id: int) -> str:
    """All recognised text of a receipt's scan or a file's scanned documents."""
    return PAGE_MARK.join(text for _sha, _n, text in _pages(conn, _shas(conn, kind, item_id)))


def locate(session: Session, kind: str, item_id: int, words: list[str]
           ) -> dict[str, Any] | None:
    """The first line of the item's scanned pages holding a query word (as a word start):
    {"page", "line", "document"} or None."""
    if not words:
        return None
    for sha, number, text in _pages(session, _shas(session, kind, item_id)):
        for line in text.splitlines():
            low = line.lower()
            if any(low.startswith(w) or f" {w}" in low for w in words):
                return {"page": number, "line": line.strip()[:200], "document": sha}
    return None


def locate_many(session: Session, items: list[tuple[str, int]], words: list[str]
                ) -> dict[tuple[str, int], dict[str, Any]]:
    """`locate` for a page of search results at once: three queries, not three per item
    (most results have no scan at all)."""
    if not words or not items:
        return {}
    receipts = [i for k, i in items if k == "receipt"]
    files = [i for k, i in items if k == "file"]
    shas: dict[tuple[str, int], list[str]] = {}
    if receipts:
        for rid, sha in session.execute(select(Receipt.id, Receipt.pdf_sha256).where(
                Receipt.id.in_(receipts), Receipt.pdf_sha256.is_not(None))):
            shas[("receipt", rid)] = [sha or ""]
    if files:
        for fid, sha in session.execute(select(FileDocument.file_id, FileDocument.sha256)
                                        .where(FileDocument.file_id.in_(files))
                                        .order_by(FileDocument.id)):
            shas.setdefault(("file", fid), []).append(sha)
    pages: dict[str, list[tuple[int, str]]] = {}
    for sha, number, text in _pages(session, sorted({s for v in shas.values() for s in v})):
        pages.setdefault(sha, []).append((number, text))
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for key, item_shas in shas.items():
        hit = _first_line(((sha, n, t) for sha in item_shas for n, t in pages.get(sha, [])),
                          words)
        if hit:
            found[key] = hit
    return found


def _first_line(pages: Any, words: list[str]) -> dict[str, Any] | None:
    for sha, number, text in pages:
        for line in text.splitlines():
            low = line.lower()
            if any(low.startswith(w) or f" {w}" in low for w in words):
                return {"page": number, "line": line.strip()[:200], "document": sha}
    return None


def pages_of(session: Session, sha: str | None) -> dict[str, Any] | None:
    """A document's reading: status, progress and each page's text (for the scan's page)."""
    if not sha:
        return None
    row = session.get(DocumentText, sha)
    pages = session.scalars(select(DocumentPage).where(DocumentPage.sha256 == sha)
                            .order_by(DocumentPage.page_no)).all()
    return {"status": row.status if row else "waiting",
            "pages_total": row.pages_total if row else None,
            "pages_done": row.pages_done if row else 0,
            "error": row.error if row else None,
            "pages": [{"page": p.page_no, "source": p.source, "text": p.text} for p in pages]}
