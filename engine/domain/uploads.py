"""Uploaded documents (scanned letters, note sheets): checked, then stored by content.

A PDF is accepted only if it starts with the PDF header and a PDF parser can read its page
tree; anything else is refused before a byte is stored. Files live under
`<data_dir>/uploads/<first two hex digits>/<sha256>`, so the same scan uploaded twice is
stored once, a name can never be chosen by the uploader, and reading a file back checks
its hash (a file changed on disk is refused, not served).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from engine.errors import InvalidInput, SanchikaError
from engine.store.models import Document, User, utcnow

PDF_MAGIC = b"%PDF-"


class StoredFileAltered(SanchikaError):
    status = 500
    code = "stored_file_altered"


def uploads_dir(data_dir: Path) -> Path:
    return data_dir / "uploads"


def path_for(data_dir: Path, sha256: str) -> Path:
    return uploads_dir(data_dir) / sha256[:2] / sha256


def check_pdf(data: bytes, max_bytes: int, field: str = "pdf") -> int:
    """Refuse anything that is not a readable PDF within the size limit; return its page
    count."""
    if not data:
        raise InvalidInput(f"{field}: the file is empty")
    if len(data) > max_bytes:
        raise InvalidInput(f"{field}: {len(data)} bytes is over the limit of {max_bytes} bytes")
    if not data[:1024].lstrip().startswith(PDF_MAGIC):
        raise InvalidInput(f"{field}: not a PDF (it does not start with %PDF-)")
    # imported on first use, so that every process starts light (CLI, workers)
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        pages = len(PdfReader(io.BytesIO(data), strict=False).pages)
    except LimitReachedError as exc:
        # a page array, tree depth, stream or object count past the parser's safety
        # limits: a hostile or broken file, refused with the limit it went over
        raise InvalidInput(f"{field}: the PDF goes over a safety limit of the reader: "
                           f"{str(exc)[:200]}") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError,
            IndexError, RecursionError, ZeroDivisionError, AssertionError) as exc:
        raise InvalidInput(f"{field}: the PDF cannot be read ({exc.__class__.__name__}: "
                           f"{str(exc)[:200]})") from None
    if pages < 1:
        raise InvalidInput(f"{field}: the PDF has no pages")
    return pages


def _write_once(target: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file
    under a content hash."""
    if target.exists():
        return
    for folder in reversed(target.parents[:2]):  # uploads/ and its fan-out folder
        folder.mkdir(exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_pdf(session: Session, data_dir: Path, max_bytes: int, data: bytes,
              filename: str | None, actor: User, field: str = "pdf") -> Document:
    """Check and store a PDF; returns its `documents` row (existing one if the same
    content was stored before). The file is written before the transaction commits; if
    the transaction rolls back, an unreferenced file remains, which is harmless."""
    pages = check_pdf(data, max_bytes, field)
    sha256 = hashlib.sha256(data).hexdigest()
    _write_once(path_for(data_dir, sha256), data)
    document = session.get(Document, sha256)
    if document is None:
        document = Document(sha256=sha256, size=len(data), pages=pages,
                            filename=upload_name(filename),
                            content_type="application/pdf", uploaded_by=actor.id,
                            uploaded_at=utcnow())
        session.add(document)
        session.flush()
    return document


def upload_name(filename: str | None) -> str:
    """The name an uploader gave, without any folder part, control characters or
    quotes (it is served back in a Content-Disposition header)."""
    name = Path((filename or "").replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable() and c not in '"').strip()[:200]
    return name or "document.pdf"


def store_bytes(data_dir: Path, data: bytes) -> str:
    """Store any bytes by content (a mail, an attachment that is not a PDF) without a
    `documents` row; returns the SHA-256 to read them back with `read_bytes`."""
    sha256 = hashlib.sha256(data).hexdigest()
    _write_once(path_for(data_dir, sha256), data)
    return sha256


def read_bytes(data_dir: Path, sha256: str) -> bytes:
    """Bytes stored by `store_bytes` (or `store_pdf`), checked against their hash."""
    path = path_for(data_dir, sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoredFileAltered(f"stored file {sha256} is missing") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StoredFileAltered(f"stored file {sha256} no longer matches its hash")
    return data


def read(data_dir: Path, document: Document) -> bytes:
    """The stored bytes, after checking they still hash to the recorded value."""
    path = path_for(data_dir, document.sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoredFileAltered(f"stored file {document.sha256} is missing") from None
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise StoredFileAltered(f"stored file {document.sha256} no longer matches its hash")
    return data
