"""Real PDFs for tests, made with the same library the server parses them with."""

from __future__ import annotations

import io

from pypdf import PdfWriter


def make_pdf(title: str = "Scanned letter", pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
