"""Recognised text on the pages: the administrators' OCR page, and the text of a
receipt's scan shown beside it (a template helper the receipt page calls)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from engine.errors import SanchikaError
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("ocr")


@bp.get("/admin/ocr")
@login_required
def ocr_status() -> ResponseReturnValue:
    return render_template("ocr_status.html", s=service().ocr_status(me()))


@bp.app_template_global()
def recognised_text(receipt_id: int) -> dict[str, Any] | None:
    """The receipt scan's text for the page beside the scan (None if there is none)."""
    try:
        return service().receipt_text(me(), receipt_id)
    except SanchikaError:
        return None
