"""Registers as downloads: the CSV and PDF of web/reports.py (one PDF maker, WeasyPrint
with the locally served Noto Sans Devanagari), for templates that are whole documents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flask import Response, render_template

from engine.read.pdf import html_to_pdf
from web.reports import FONT_FILES, as_csv

STATIC = Path(__file__).resolve().parents[1] / "static"


def csv_response(name: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Response:
    return as_csv(list(header), rows, name)


def pdf_response(name: str, template: str, **context: object) -> Response:
    data = html_to_pdf(render_template(template, **context), base_url=str(STATIC),
                       font_files=[f for f in FONT_FILES if f.exists()])
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
