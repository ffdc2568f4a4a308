"""Registers as downloads: CSV (UTF-8 with a byte-order mark, so spreadsheet programs read
Hindi correctly) and PDF rendered from HTML by WeasyPrint (Pango shapes Devanagari; the
font is the locally served Noto Sans Devanagari, falling back to the system's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from flask import Response, render_template

STATIC = Path(__file__).resolve().parents[1] / "static"


def csv_response(name: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def pdf_response(name: str, template: str, **context: object) -> Response:
    from weasyprint import HTML  # loads Pango: on use only

    html = render_template(template, **context)
    data = HTML(string=html, base_url=str(STATIC)).write_pdf()
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
