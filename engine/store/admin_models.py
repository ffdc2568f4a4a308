"""Tables of the administrator's office: the office hierarchy above sections, one-time
password-reset codes and the weekly reviews sent to Secretaries and monitoring posts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow

# secretariat department, directorate / head-of-department office, division (divisional
# commissioner), district (collectorate), field office
OFFICE_KINDS = ("secretariat", "directorate", "division", "district", "field")


class Office(Base):
    """An office of a department. Offices form a tree (parent_id): a division's districts,
    a district's field offices. Sections sit in an office."""

    __tablename__ = "offices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class PasswordReset(Base):
    """A one-time code the administrator hands to a user; only its hash is kept."""

    __tablename__ = "password_resets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WeeklyReview(Base):
    """One weekly review PDF for one recipient post (a Secretary or a monitoring post)."""

    __tablename__ = "weekly_reviews"
    __table_args__ = (UniqueConstraint("week_start", "post_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pages: Mapped[int] = mapped_column(Integer, default=1)


class OutboxAttachment(Base):
    """A file sent with an outbox e-mail (e.g. the weekly review PDF)."""

    __tablename__ = "outbox_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
