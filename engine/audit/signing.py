"""Signed approvals: each user has an Ed25519 key pair; an approval is signed with the
approver's own key over the file's content hash at that moment.

Private keys are kept in the data folder (`keys/users/<user id>.key`), never in the
database, encrypted with AES-256-GCM under a key derived (HKDF) from the data folder's
audit master key and the user's id. The user's password is not used: an approval made
with a bearer token has no password at hand, and "one-click approval from anywhere" must
keep working; see README ("Audit") for what this protects against and what it does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import history
from engine.audit.history import canonical_json
from engine.audit.keys import AuditKeys
from engine.domain.files import _iso, content_hash
from engine.store.audit_models import ApprovalSignature, UserKey
from engine.store.models import File, HistoryEvent, Instance, User, utcnow

PURPOSE = "sanchika-approval/1"


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def payload(*, file_no: str, file_id: int, instance_id: int, signer: str, key_id: str,
            action: str, content_hash_: str, signed_at: Any) -> bytes:
    """The exact bytes signed: canonical JSON, so anyone can rebuild them."""
    return canonical_json({
        "purpose": PURPOSE, "file_no": file_no, "file_id": file_id,
        "instance_id": instance_id, "signer": signer, "key_id": key_id, "action": action,
        "content_hash": content_hash_,
        "signed_at": signed_at if isinstance(signed_at, str) else _iso(signed_at),
    }).encode()


def check(pem: str, message: bytes, signature_b64: str) -> bool:
    try:
        load_public(pem).verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


class KeyRing:
    """Users' private keys in the data folder, encrypted at rest."""

    def __init__(self, keys: AuditKeys):
        self.keys = keys
        # key ids known to be registered in user_keys (rows are never removed): no query
        # per approval once seen
        self.registered: set[str] = set()

    def _path(self, user_id: int) -> os.PathLike:
        return self.keys.user_key_dir() / f"{user_id}.key"

    def _aead(self, user_id: int, create: bool = True) -> AESGCM:
        return AESGCM(self.keys.derive(f"user-key:{user_id}", create))

    def load(self, user_id: int) -> Ed25519PrivateKey | None:
        path = self._path(user_id)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            stored = json.load(f)
        raw = self._aead(user_id, create=False).decrypt(
            base64.b64decode(stored["nonce"]), base64.b64decode(stored["ciphertext"]),
            f"user:{user_id}".encode())
        return Ed25519PrivateKey.from_private_bytes(raw)

    def load_or_create(self, user_id: int) -> Ed25519PrivateKey:
        key = self.load(user_id)
        if key is not None:
            return key
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        nonce = secrets.token_bytes(12)
        sealed = self._aead(user_id).encrypt(nonce, raw, f"user:{user_id}".encode())
        record = {"key_id": key_id_of(key.public_key()),
                  "nonce": base64.b64encode(nonce).decode(),
                  "ciphertext": base64.b64encode(sealed).decode()}
        path = self._path(user_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made concurrently: use that one
            made = self.load(user_id)
            if made is None:  # and removed again since: nothing sound to sign with
                raise
            return made
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out)
        return key


def ensure_key(session: Session, ring: KeyRing, user: User) -> tuple[UserKey, Ed25519PrivateKey]:
    """The user's key pair, made on first use; its public half registered in the
    database in the caller's transaction. (A key file left by a rolled-back action is
    simply used next time.)"""
    private = ring.load_or_create(user.id)
    kid = key_id_of(private.public_key())
    if kid in ring.registered:
        return UserKey(user_id=user.id, key_id=kid), private  # transient: only its key id
    row = session.scalar(select(UserKey).where(UserKey.key_id == kid))
    if row is None:
        row = UserKey(user_id=user.id, key_id=kid, public_pem=public_pem(private.public_key()))
        session.add(row)
        session.flush()
        # known only once this command commits (a rolled-back one leaves no row)
        ctx = session.info.get("command_context")
        if ctx is not None:
            ctx.after_commit.append(lambda: ring.registered.add(kid))
    else:
        ring.registered.add(kid)
    return row, private


def sign_approval(session: Session, ring: KeyRing, user: User, file: File, action: str,
                  instance: Instance) -> ApprovalSignature:
    """Sign the file's current content hash as `user`; stored, and recorded in the history
    of `instance` (the process the approval belongs to), in the caller's transaction."""
    key, private = ensure_key(session, ring, user)
    digest = content_hash(session, file)
    signed_at = utcnow()
    message = payload(file_no=file.file_no, file_id=file.id, instance_id=instance.id,
                      signer=user.username, key_id=key.key_id, action=action,
                      content_hash_=digest, signed_at=signed_at)
    signature = base64.b64encode(private.sign(message)).decode()
    row = ApprovalSignature(file_id=file.id, instance_id=instance.id, user_id=user.id,
                            username=user.username, key_id=key.key_id, action=action,
                            content_hash=digest, signed_at=signed_at, signature=signature)
    session.add(row)
    history.append(session, instance, "approval_signed", actor=user.username,
                   data={"file_no": file.file_no, "action": action, "key_id": key.key_id,
                         "content_hash": digest, "signed_at": _iso(signed_at),
                         "signature": signature})
    return row


REOPEN_HANDLER = "reopen_file"


@dataclass
class Reopening:
    """An approved reopening: the file was unlocked then; `content_hash` is what it held
    while still locked (recorded in the reopening's chain), None if it was not locked."""

    at: datetime
    instance_id: int
    content_hash: str | None


def reopenings(session: Session, file_id: int) -> list[Reopening]:
    rows = session.execute(
        select(HistoryEvent.at, HistoryEvent.instance_id, HistoryEvent.data)
        .join(Instance, Instance.id == HistoryEvent.instance_id)
        .where(Instance.subject_kind == "file", Instance.subject_id == file_id,
               HistoryEvent.kind == "handler_called").order_by(HistoryEvent.at))
    return reopenings_in((r.at, r.instance_id, r.data) for r in rows)


def reopenings_in(events: Any) -> list[Reopening]:
    """From (at, instance id, data) of handler_called events."""
    found = []
    for at, instance_id, data in events:
        data = data if isinstance(data, dict) else {}
        result = data.get("result")
        result = result if isinstance(result, dict) else {}
        if data.get("handler") == REOPEN_HANDLER and result.get("reopened") is True:
            at = datetime.fromisoformat(at) if isinstance(at, str) else at
            found.append(Reopening(at, instance_id, result.get("content_hash")))
    return sorted(found, key=lambda r: r.at)


def expected_content_hash(at: Any, instance_id: int | None, reopened: list[Reopening],
                          current: str) -> str | None:
    """The content hash something recorded at `at` in `instance_id` (a signature, a lock)
    must still match: the current one, unless the file was reopened since — then what it
    held when the reopening unlocked it. None: nothing left to compare with."""
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    own = [r for r in reopened if r.instance_id == instance_id]
    if own:  # the approval of a reopening itself
        return own[0].content_hash
    later = [r for r in reopened if r.at >= at]
    return later[0].content_hash if later else current


def signature_message(row: ApprovalSignature | Any, file_no: str) -> bytes:
    return payload(file_no=file_no, file_id=row.file_id, instance_id=row.instance_id,
                   signer=row.username, key_id=row.key_id, action=row.action,
                   content_hash_=row.content_hash, signed_at=row.signed_at)


def verify(session: Session, ring: KeyRing | None, instance_ids: Collection[int] | None = None,
           file_id: int | None = None
           ) -> tuple[int, list[str]]:
    """(signatures checked, problems): each signature against its public key, the signed
    content hash against the file's content now, the public key against the private key
    in the data folder (when `ring` is given), and each signature against its history
    record. `instance_ids`: only the signatures of these instances (incremental
    verification checks those of the changed instances; they are looked up by instance, so
    the unchanged ones cost nothing). With `file_id`, only that file's signatures (and no
    key-file check). Read a page at a time, so memory stays flat."""
    problems: list[str] = []
    checked = 0
    keys = {k.key_id: k for k in session.scalars(select(UserKey))}
    if ring is not None and file_id is None:
        for key in keys.values():
            private = ring.load(key.user_id) if ring.keys.exists() else None
            if private is not None and key_id_of(private.public_key()) != key.key_id:
                problems.append(f"public key {key.key_id[:16]}… of user id {key.user_id} is not "
                                "the key kept for that user in the data folder")
    rows = (_signatures(session, file_id=file_id) if instance_ids is None
            else _signatures_of(session, sorted(instance_ids)))
    for row in rows:
        checked += 1
        file = session.get(File, row.file_id)
        file_no = file.file_no if file else f"id {row.file_id}"
        name = f"file {file_no}: {row.action} by {row.username} at {_iso(row.signed_at)}"
        signer_key = keys.get(row.key_id)
        if signer_key is None:
            problems.append(f"{name}: its public key {row.key_id[:16]}… is not on record")
            continue
        if signer_key.user_id != row.user_id:
            problems.append(f"{name}: signed with a key that belongs to another user")
        if not check(signer_key.public_pem, signature_message(row, file_no), row.signature):
            problems.append(f"{name}: the signature does not verify (forged or altered)")
            continue
        expected = None if file is None else expected_content_hash(
            row.signed_at, row.instance_id, reopenings(session, file.id),
            content_hash(session, file))
        if expected is not None and expected != row.content_hash:
            problems.append(f"{name}: the file's notes or correspondence differ from what "
                            "was signed")
        recorded = [e for e in history.events(session, row.instance_id)
                    if e.kind == "approval_signed" and e.data.get("signature") == row.signature]
        if not recorded:
            problems.append(f"{name}: the signature is not recorded in the file's history")
    return checked, problems


def _signatures_of(session: Session, instance_ids: list[int], page: int = 200
                   ) -> Iterator[ApprovalSignature]:
    """The signatures of these instances, `page` instances at a time (by their index)."""
    for start in range(0, len(instance_ids), page):
        yield from session.scalars(
            select(ApprovalSignature)
            .where(ApprovalSignature.instance_id.in_(instance_ids[start:start + page]))
            .order_by(ApprovalSignature.id))


def _signatures(session: Session, page: int = 200, file_id: int | None = None
                ) -> Iterator[ApprovalSignature]:
    """Every signature (of one file, with `file_id`) in id order, a page at a time (keyset
    paging): one page of rows is held at once (the session's identity map holds them
    weakly)."""
    last = 0
    while True:
        query = select(ApprovalSignature).where(ApprovalSignature.id > last)
        if file_id is not None:
            query = query.where(ApprovalSignature.file_id == file_id)
        rows = list(session.scalars(query.order_by(ApprovalSignature.id).limit(page)))
        if not rows:
            return
        last = rows[-1].id
        yield from rows
