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


def _assemble(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (object n is objects[n-1]), with a correct
    cross-reference table, so the parser reads it as written, not by recovery."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def huge_page_array_pdf(kids: int = 150_000) -> bytes:
    """A page tree whose /Kids array names one page `kids` times (a hostile upload)."""
    refs = b" ".join([b"3 0 R"] * kids)
    return _assemble([b"<< /Type /Catalog /Pages 2 0 R >>",
                      b"<< /Type /Pages /Count %d /Kids [%s] >>" % (kids, refs),
                      b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"])


def deep_page_tree_pdf(depth: int = 500) -> bytes:
    """Page-tree nodes nested `depth` deep above a single page (a hostile upload)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        n = level + 2
        parent = b" /Parent %d 0 R" % (n - 1) if level else b""
        objects.append(b"<< /Type /Pages /Count 1 /Kids [%d 0 R]%s >>" % (n + 1, parent))
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>"
                   % (depth + 1))
    return _assemble(objects)


def active_content_pdf() -> bytes:
    """A one-page PDF with JavaScript run on opening (/OpenAction)."""
    return _assemble([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /Action /S /JavaScript /JS (app.alert\\('hello'\\)) >>"])
