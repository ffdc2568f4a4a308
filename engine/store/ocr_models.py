"""Tables of recognised text: each stored PDF's text per page (from its text layer or read
by OCR) and how far the background reading of the document has got."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class DocumentText(Base):
    """The reading of one stored PDF. status: running | done | needs_ocr (pages without a
    text layer wait for Tesseract to be installed) | failed."""

    __tablename__ = "document_texts"
    sha256: Mapped[str] = mapped_column(ForeignKey("documents.sha256"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    ocr_pages: Mapped[int] = mapped_column(Integer, default=0)  # pages read by OCR
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class DocumentPage(Base):
    """The text of one page; source: text_layer | ocr | none (unreadable for now)."""

    __tablename__ = "document_pages"
    __table_args__ = (UniqueConstraint("sha256", "page_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("documents.sha256"), index=True)
    page_no: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
