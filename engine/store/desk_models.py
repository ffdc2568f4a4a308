"""Tables of the officer's desk: per-user settings (notification channels, notifications
seen, when the password last changed) and which items a user has opened since they arrived."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class UserSetting(Base):
    """One row per user who changed something; a missing row means the defaults (every
    channel on, nothing seen)."""

    __tablename__ = "user_settings"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    # the newest in-app notification the user has seen (the unread count is what is newer)
    notifications_seen_id: Mapped[int] = mapped_column(Integer, default=0)
    password_changed_at: Mapped[datetime | None]


class ItemRead(Base):
    """When a user last opened a file or receipt: an inbox row is unread (bold) while its
    task arrived after that."""

    __tablename__ = "item_reads"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # file | receipt
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
