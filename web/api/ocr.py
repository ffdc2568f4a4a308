"""REST API of recognised text (/api/v1): a receipt's scanned letter as text, and OCR's
state for administrators."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from engine.errors import NotFound
from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("ocr_api", __name__, url_prefix="/api/v1",
                description="Recognised text of scanned letters (text layer or OCR)")


@blp.route("/receipts/<int:receipt_id>/text")
def receipt_text(receipt_id: int) -> ResponseReturnValue:
    """The scanned letter's text page by page: `{"status", "pages_total", "pages_done",
    "error", "pages": [{"page", "source", "text"}]}`; status is waiting, running, done,
    needs_ocr (OCR is not installed) or failed. 404 when the receipt has no scan."""
    text = app_service().receipt_text(current_user(), receipt_id)
    if text is None:
        raise NotFound(f"receipt {receipt_id} has no scanned letter")
    return text


@blp.route("/ocr/status")
def ocr_status() -> ResponseReturnValue:
    """Administrators: whether Tesseract (Hindi and English) is there, and how the
    reading of stored PDFs stands."""
    return app_service().ocr_status(current_user())
