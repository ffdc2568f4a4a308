"""HTML to PDF with WeasyPrint, the one place Sanchika makes PDFs from pages (reports,
the weekly review, file print-outs). WeasyPrint lays text out with Pango and HarfBuzz,
so Devanagari is shaped (conjuncts, matras) as in a browser.

Fonts: Noto Sans and Noto Sans Devanagari, from files given by the caller (e.g. the
@fontsource woff2 files the web UI serves) and otherwise from the system (Debian's
fonts-noto-core). Pages are A4 with a page number in the footer."""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

PAGE_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
html { font-family: "Noto Sans", "Noto Sans Devanagari", sans-serif; font-size: 9.5pt;
       color: #111; }
h1 { font-size: 15pt; margin: 0 0 4mm; } h2 { font-size: 12pt; margin: 5mm 0 2mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 3mm; }
th, td { border: 0.4pt solid #999; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; }
th { background: #eef2f6; } td.num, th.num { text-align: right; }
tr { page-break-inside: avoid; } thead { display: table-header-group; }
.late, tr.overdue td { color: #b3261e; } .muted { color: #555; }
a { color: inherit; text-decoration: none; }
nav, form, button, .no-print, .skip, header.top, dialog { display: none !important; }
"""


_unpacked: dict[tuple[Path, int, int], Path] = {}
_unpacking = threading.Lock()
_folder: Path | None = None


def unpacked(path: Path) -> Path:
    """A WOFF or WOFF2 font as the plain font file inside it, unpacked once per process
    into a temporary folder (WeasyPrint unpacks a WOFF2 font with fontTools, in Python, for
    every PDF: about a quarter of a second each, more than laying out a report). Any other
    file, or one that cannot be unpacked, is given back as it is."""
    global _folder
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    with _unpacking:
        if key not in _unpacked:
            _unpacked[key] = path
            data = path.read_bytes()
            if data[:4] in (b"wOFF", b"wOF2"):
                from fontTools.ttLib import TTFont, woff2  # WeasyPrint's own dependency

                out = io.BytesIO()
                try:
                    if data[:4] == b"wOF2":
                        woff2.decompress(io.BytesIO(data), out)
                    else:
                        font = TTFont(io.BytesIO(data))
                        font.flavor = None
                        font.save(out)
                except Exception:  # left to WeasyPrint, which says what is wrong with it
                    return path
                if _folder is None:
                    _folder = Path(tempfile.mkdtemp(prefix="sanchika-fonts-"))
                    atexit.register(shutil.rmtree, _folder, True)
                target = _folder / f"{len(_unpacked)}-{path.stem}.font"
                target.write_bytes(out.getvalue())
                _unpacked[key] = target
        return _unpacked[key]


def font_face_css(files: Iterable[Path]) -> str:
    """@font-face rules for Noto Sans Devanagari font files (weight read from the name,
    e.g. noto-sans-devanagari-devanagari-600-normal.woff2)."""
    rules = []
    for path in files:
        weight = next((part for part in path.stem.split("-") if part.isdigit()), "400")
        rules.append(f'@font-face {{ font-family: "Noto Sans Devanagari"; '
                     f'src: url("{unpacked(path).as_uri()}"); font-weight: {weight}; }}')
    return "\n".join(rules)


def html_to_pdf(html: str, *, base_url: str | None = None,
                font_files: Iterable[Path] = (), extra_css: str = "") -> bytes:
    """A PDF of an HTML document (a full page or a fragment)."""
    from weasyprint import CSS, HTML  # heavy import: only when a PDF is made
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = [CSS(string=font_face_css(font_files) + PAGE_CSS + extra_css, font_config=fonts)]
    return HTML(string=html, base_url=base_url).write_pdf(stylesheets=css, font_config=fonts)
