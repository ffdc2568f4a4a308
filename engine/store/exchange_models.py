"""Tables of the exchange between installations: registered partners, packages waiting in
(or gone from) the exchange outbox, and packages received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class Partner(Base):
    """An installation this one trusts: its name, where it listens and its public key."""

    __tablename__ = "partners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    public_pem: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExchangeOut(Base):
    """A package for a partner: pending until the partner took it (sent), or refused it
    (failed); retried with growing pauses while the partner cannot be reached."""

    __tablename__ = "exchange_out"
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # file
    item_id: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[str] = mapped_column(Text)  # canonical JSON
    signature: Mapped[str] = mapped_column(String(200))
    package_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class ExchangeIn(Base):
    """A package received from a partner and put up as a receipt; (partner, nonce) is
    unique, so a replayed package is refused."""

    __tablename__ = "exchange_in"
    __table_args__ = (UniqueConstraint("partner_id", "nonce", name="uq_exchange_nonce"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    nonce: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(100))
    envelope: Mapped[str] = mapped_column(Text)
    package_sha256: Mapped[str] = mapped_column(String(64))
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
