"""Tables of the audit trail: chained checkpoints over every history chain, users'
signing keys and signed approvals. All are append-only (database triggers, 0008_audit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, utcnow


class Checkpoint(Base):
    """One checkpoint: `root` chains the previous root with every instance head that
    changed since then (`checkpoint_heads`); `hash` chains the checkpoints; `mac` is an
    HMAC of `hash` under a key kept in the data folder, not in the database."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    instances: Mapped[int] = mapped_column(Integer)  # heads recorded in this checkpoint
    events: Mapped[int] = mapped_column(Integer)     # events in all chains at this point
    root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class CheckpointHead(Base):
    """An instance's chain head (event count and last hash) as a checkpoint saw it;
    written only for instances whose head moved since the previous checkpoint."""

    __tablename__ = "checkpoint_heads"
    __table_args__ = (UniqueConstraint("checkpoint_id", "instance_id"),
                      Index("ix_checkpoint_heads_instance", "instance_id", "event_count"))
    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"))
    # No foreign key: a deleted instance must leave its recorded head behind as evidence.
    instance_id: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class UserKey(Base):
    """A user's Ed25519 public key; the private key lives encrypted in the data folder."""

    __tablename__ = "user_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the raw key
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalSignature(Base):
    """An approval signed by the approver's own key over the file's content hash."""

    __tablename__ = "approval_signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signature: Mapped[str] = mapped_column(String(200))  # base64 of the 64-byte signature


class VerifyMark(Base):
    """A verification that found the installation intact (`sanchika verify`): every event
    up to `event_id` was re-checked and every chain head up to checkpoint `checkpoint_seq`
    confirmed, so the next incremental run re-checks only what came after. `mac` is an HMAC
    under the data folder's audit key: a forged mark cannot make verification skip work."""

    __tablename__ = "verify_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental
    checkpoint_seq: Mapped[int] = mapped_column(Integer, default=0)
    event_id: Mapped[int] = mapped_column(Integer, default=0)
    instances: Mapped[int] = mapped_column(Integer, default=0)  # instances re-checked
    mac: Mapped[str] = mapped_column(String(64))
