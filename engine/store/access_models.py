"""Tables for posts-not-persons, who-sees-what and search: additional charges, access
grants, the admin audit log and the search documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class AdditionalCharge(Base):
    """A user acts for a second post from one date to another (both days included)."""

    __tablename__ = "additional_charges"
    __table_args__ = (Index("ix_additional_charges_user", "user_id", "ends_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AccessGrant(Base):
    """An explicit, recorded permission for one user to read one file or receipt."""

    __tablename__ = "access_grants"
    __table_args__ = (Index("ix_access_grants_user", "user_id", "revoked_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None]
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditEntry(Base):
    """Append-only record of administrative acts (transfers, charges, grants)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SearchDoc(Base):
    """One searchable document per file or receipt. `terms` is the normalised text the
    full-text index covers (SQLite FTS5 table `search_fts`, PostgreSQL GIN index over
    the stored `vector`); the other columns give the snippet."""

    __tablename__ = "search_docs"
    __table_args__ = (UniqueConstraint("kind", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # file | receipt
    item_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(200), index=True)
    subject: Mapped[str] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    # PostgreSQL: to_tsvector('simple', terms), set by the trigger search_docs_vector and
    # GIN-indexed (ix_search_docs_vector, migration 0019); SQLite: unused (FTS5 indexes
    # terms). Deferred: only the database reads it.
    vector: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"),
                                               deferred=True)
