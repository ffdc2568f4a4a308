"""Recognised text (a mixin of Sanchika): the background reading of stored PDFs, a
receipt's scan text page by page, and OCR's state for administrators."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from engine.domain import org, receipts, visibility
from engine.ocr import reader, tesseract
from engine.ocr import text as ocr_text
from engine.read import views
from engine.store.models import Document, User
from engine.store.ocr_models import DocumentText

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.store.db import Database


class OcrServices:
    db: Database
    settings: Settings

    def read_scans(self, budget_seconds: float = 60.0,
                   should_stop: Callable[[], bool] = lambda: False) -> int:
        """Read stored PDFs waiting to be read (the scheduler's job); how many finished."""
        return reader.read_pending(self.db, self.settings.data_dir, budget_seconds,
                                   should_stop)

    def receipt_text(self, actor: User, receipt_id: int) -> dict[str, Any] | None:
        """The text of a receipt's scanned letter, page by page, with the reading's
        progress (None: the receipt has no scan)."""
        with self.db.reader() as s:
            receipt = receipts.get_receipt(s, receipt_id)
            visibility.require_read_receipt(s, actor, receipt)
            return ocr_text.pages_of(s, receipt.pdf_sha256)

    def ocr_status(self, actor: User) -> dict[str, Any]:
        """Whether OCR can run, and how the reading of stored PDFs stands."""
        org.require_role(actor, "admin")
        state = tesseract.status(fresh=True)
        with self.db.reader() as s:
            counts = dict(s.execute(select(DocumentText.status, func.count())
                                    .group_by(DocumentText.status)).all())
            total = s.scalar(select(func.count()).select_from(Document).where(
                Document.content_type == "application/pdf")) or 0
            recent = s.scalars(select(DocumentText).order_by(DocumentText.updated_at.desc())
                               .limit(20)).all()
            names = {d.sha256: d.filename for d in s.scalars(
                select(Document).where(Document.sha256.in_([r.sha256 for r in recent])))}
            return {
                "available": state.available, "version": state.version,
                "languages": list(state.languages), "message": state.message,
                "enabled": self.settings.ocr_seconds > 0,
                "documents": total, "waiting": total - sum(counts.values()),
                "by_status": counts,
                "recent": [{"sha256": r.sha256, "filename": names.get(r.sha256),
                            "status": r.status, "pages_total": r.pages_total,
                            "pages_done": r.pages_done, "ocr_pages": r.ocr_pages,
                            "error": r.error, "updated_at": views.iso(r.updated_at)}
                           for r in recent],
            }
