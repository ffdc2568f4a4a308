"""Tables for working with files in depth: subject heads, yellow notes, drafts for
approval (with versions) and their dispatch, links between files, scanned note sheets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class SubjectHead(Base):
    """A department's subject heads; the head is the third part of a file number."""

    __tablename__ = "subject_heads"
    __table_args__ = (UniqueConstraint("department_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class YellowNote(Base):
    """A private draft note: only its author sees it, until confirmed into a green note
    (kept apart from `notes` so green-note triggers and content hashes never see it)."""

    __tablename__ = "yellow_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    author_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    text: Mapped[str] = mapped_column(Text)
    ref_correspondence_id: Mapped[int | None] = mapped_column(ForeignKey("correspondence.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(Base):
    """A draft for approval (DFA): an outgoing letter drafted inside a file."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    addressee: Mapped[str | None] = mapped_column(String(300))
    # draft | approved | issued
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)  # the latest version number
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]


class DraftVersion(Base):
    """Each edit of a draft is a new version; versions are never changed."""

    __tablename__ = "draft_versions"
    __table_args__ = (UniqueConstraint("draft_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dispatch(Base):
    """The dispatch register: an approved draft issued to an addressee."""

    __tablename__ = "dispatches"
    __table_args__ = (UniqueConstraint("dispatch_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    dispatch_no: Mapped[str] = mapped_column(String(64))
    dispatch_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    mode: Mapped[str] = mapped_column(String(16))  # post | email | hand | speed_post
    addressee: Mapped[str] = mapped_column(String(300))
    draft_version: Mapped[int] = mapped_column(Integer)
    dispatched_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    dispatched_at: Mapped[datetime] = mapped_column(default=utcnow)


class FileLink(Base):
    """Two related files; stored once with the lower id first, listed from both sides."""

    __tablename__ = "file_links"
    __table_args__ = (UniqueConstraint("file_id", "other_file_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    other_file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    linked_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class FileDocument(Base):
    """A scanned document of a file (note sheets of a digitised paper file)."""

    __tablename__ = "file_documents"
    __table_args__ = (UniqueConstraint("file_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("documents.sha256"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="note_sheet")
    title: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
