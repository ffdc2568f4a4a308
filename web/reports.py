"""Reports as a page, a CSV or a PDF: one template renders the page (inside base.html)
and the PDF (inside pdf_base.html); CSV rows are built by each report's page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import Response, render_template, request

from engine.domain.org import OFFICE_TZ
from engine.read.pdf import html_to_pdf
from web.ui import NODE_MODULES

FONT_FILES = [NODE_MODULES / "@fontsource/noto-sans-devanagari/files" /
              f"noto-sans-devanagari-devanagari-{w}-normal.woff2" for w in (400, 600)]


def wanted() -> str:
    fmt = request.args.get("format", "html")
    return fmt if fmt in ("html", "csv", "pdf") else "html"


def pdf_bytes(template: str, **context: Any) -> bytes:
    made = datetime.now(OFFICE_TZ).strftime("%Y-%m-%d %H:%M IST")
    html = render_template(template, layout="pdf_base.html", pdf=True, generated_at=made,
                           **context)
    return html_to_pdf(html, base_url=request.host_url,
                       font_files=[f for f in FONT_FILES if f.exists()])


def as_pdf(template: str, filename: str, **context: Any) -> Response:
    return Response(pdf_bytes(template, **context), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}.pdf"'})


def as_csv(header: list[str], rows: Iterable[Iterable[Any]], filename: str) -> Response:
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the Hindi as UTF-8
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}.csv"'})


def page(template: str, **context: Any) -> str:
    return render_template(template, layout="base.html", pdf=False, **context)
