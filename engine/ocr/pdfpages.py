"""A PDF's pages one at a time (pypdfium2): the text layer when the page has one, else
the page rendered as a grey image for OCR."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

import pypdfium2 as pdfium
from PIL import Image

RENDER_DPI = 300
MIN_LETTERS = 8  # fewer letters than this on a page: treat it as a scan (no text layer)


def letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


@contextmanager
def opened(data: bytes) -> Iterator[pdfium.PdfDocument]:
    pdf = pdfium.PdfDocument(data)
    try:
        yield pdf
    finally:
        pdf.close()


def text_layer(pdf: pdfium.PdfDocument, index: int) -> str | None:
    """The page's own text, or None if it carries (next to) none."""
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_bounded().replace("\r\n", "\n").strip()
        finally:
            textpage.close()
    finally:
        page.close()
    return text if letters(text) >= MIN_LETTERS else None


def image(pdf: pdfium.PdfDocument, index: int, dpi: int = RENDER_DPI) -> Image.Image:
    page = pdf[index]
    try:
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        try:
            return bitmap.to_pil().convert("L")
        finally:
            bitmap.close()
    finally:
        page.close()
