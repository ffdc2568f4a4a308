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
    # indexed: an incremental verify reads the signatures of the changed instances only
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signature: Mapped[str] = mapped_column(String(200))  # base64 of the 64-byte signature


class Passkey(Base):
    """A WebAuthn credential an officer registered (a platform authenticator or a security
    key). Revoking keeps the row: approvals made with it before `revoked_at` still verify,
    any made after do not."""

    __tablename__ = "passkeys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # base64url; WebAuthn allows credential ids of up to 1023 bytes
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[str] = mapped_column(Text)  # base64url of the COSE key
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    rp_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class PasskeyApproval(Base):
    """An approval of a file or a draft signed with a passkey: the assertion exactly as
    the authenticator made it, and the public key it is checked against, so it verifies
    with nothing else (engine/audit/passkey_proof.py). Append-only."""

    __tablename__ = "passkey_approvals"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    subject: Mapped[str] = mapped_column(String(16))  # file | draft
    subject_id: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), default=None)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    passkey_id: Mapped[int] = mapped_column(ForeignKey("passkeys.id"))
    action: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(100), unique=True)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    rp_id: Mapped[str] = mapped_column(String(255))
    credential_id: Mapped[str] = mapped_column(String(1400))
    public_key: Mapped[str] = mapped_column(Text)
    authenticator_data: Mapped[str] = mapped_column(Text)
    client_data_json: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text)


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
