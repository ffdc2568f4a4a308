"""A PDF of a mail that came without one: its headers and body text as page images, so the
diarised receipt still has a scan to show (the text itself is kept with the mail)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent.parent
# Debian's fonts-noto-core, else the web UI's own copy of the same font.
FONT_PATHS = (
    Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"),
    ROOT / "web/node_modules/@fontsource/noto-sans-devanagari/files/"
           "noto-sans-devanagari-devanagari-400-normal.woff",
)
DPI = 100
PAGE = (827, 1169)  # A4 at 100 dpi
MARGIN = 60
LINE = 26
WRAP = 80


def font_path() -> Path | None:
    """A Devanagari font with Latin letters too (None: Pillow's built-in font)."""
    return next((p for p in FONT_PATHS if p.is_file()), None)


def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = font_path()
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size)


def text_pdf(lines: list[str], title: str = "mail") -> bytes:
    """Lines of text rendered onto A4 pages, as a PDF."""
    font = load_font(16)
    wrapped = [piece for line in lines
               for piece in (textwrap.wrap(line, WRAP) or [""])]
    per_page = (PAGE[1] - 2 * MARGIN) // LINE
    pages = []
    for start in range(0, max(len(wrapped), 1), per_page):
        page = Image.new("L", PAGE, 255)
        draw = ImageDraw.Draw(page)
        for n, line in enumerate(wrapped[start:start + per_page]):
            draw.text((MARGIN, MARGIN + n * LINE), line, font=font, fill=0)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=pages[1:],
                  title=title)
    return out.getvalue()
