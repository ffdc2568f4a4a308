"""Passkeys in the database: registering, listing and revoking an officer's WebAuthn
credentials, the options a browser needs to register one or to sign an approval, the
approval record (engine/audit/passkey_proof.py explains the challenge) and its check.

The relying party id and origin come from the page the officer uses (the web layer
passes the origin it served); the stored assertion records both, and a check needs only
the stored rows: `sanchika verify` recomputes every challenge and signature."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import history
from engine.audit import passkey_proof as proof
from engine.domain.files import _iso, content_hash
from engine.errors import Conflict, InvalidInput, NotFound
from engine.store.audit_models import Passkey, PasskeyApproval
from engine.store.file_models import Draft, DraftVersion
from engine.store.models import File, Instance, User, utcnow

RP_NAME = "Sanchika e-Office"
MAX_NAME = 100
HISTORY_KIND = "approval_passkey"


def rp_id_of(origin: str) -> str:
    host = urlsplit(origin or "").hostname
    if not host:
        raise InvalidInput("origin: the page's origin is unknown; cannot use a passkey")
    return host


def row(key: Passkey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "credential_id": key.credential_id,
            "rp_id": key.rp_id, "created_at": _iso(key.created_at),
            "revoked_at": _iso(key.revoked_at) if key.revoked_at else None,
            "active": key.revoked_at is None}


def of_user(session: Session, user: User, active_only: bool = False) -> list[Passkey]:
    query = select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id)
    if active_only:
        query = query.where(Passkey.revoked_at.is_(None))
    return list(session.scalars(query))


# ---------------------------------------------------------------- registration


def registration_options(session: Session, user: User, origin: str, nonce: str) -> dict[str, Any]:
    """What navigator.credentials.create() needs (as JSON), and the nonce to send back."""
    # webauthn (with its ASN.1 and X.509 stack) loads when a passkey is first used, not
    # with every process that imports the engine (the CLI, the workers)
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id_of(origin), rp_name=RP_NAME, user_name=user.username,
        user_id=hashlib.sha256(f"sanchika-user:{user.id}".encode()).digest(),
        user_display_name=user.full_name or user.username,
        challenge=proof.registration_challenge(user.username, nonce),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=proof.unb64(k.credential_id))
                             for k in of_user(session, user, active_only=True)])
    return {"nonce": nonce, "publicKey": json.loads(options_to_json(options))}


def register(session: Session, user: User, credential: Any, nonce: str, origin: str,
             name: str) -> Passkey:
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException

    name = (name or "").strip() or "passkey"
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name: at most {MAX_NAME} characters")
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=proof.registration_challenge(
                user.username, nonce),
            expected_rp_id=rp_id_of(origin), expected_origin=origin,
            require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"credential: the passkey could not be registered ({exc})") from exc
    credential_id = proof.b64(verified.credential_id)
    if session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise Conflict("credential: this passkey is already registered")
    key = Passkey(user_id=user.id, credential_id=credential_id,
                  public_key=proof.b64(verified.credential_public_key),
                  sign_count=verified.sign_count, name=name, rp_id=rp_id_of(origin))
    session.add(key)
    session.flush()
    return key


def revoke(session: Session, user: User, passkey_id: int) -> Passkey:
    key = session.get(Passkey, passkey_id)
    if key is None or key.user_id != user.id:  # another's passkey: not even its existence
        raise NotFound(f"no passkey {passkey_id} of yours")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


# ---------------------------------------------------------------- approvals


def draft_content_hash(session: Session, draft: Draft) -> str:
    """What approving a draft commits to: its subject, addressee and latest version."""
    text = session.scalar(select(DraftVersion.text).where(
        DraftVersion.draft_id == draft.id, DraftVersion.version == draft.version))
    return hashlib.sha256(history.canonical_json({
        "draft_id": draft.id, "version": draft.version, "subject": draft.subject,
        "addressee": draft.addressee, "text": text}).encode()).hexdigest()


def subject_hash(session: Session, subject: str, subject_id: int) -> tuple[File, str]:
    if subject == "file":
        file = session.get(File, subject_id)
        if file is None:
            raise NotFound(f"no file with id {subject_id}")
        return file, content_hash(session, file)
    draft = session.get(Draft, subject_id)
    if draft is None:
        raise NotFound(f"no draft with id {subject_id}")
    file = session.get(File, draft.file_id)
    if file is None:
        raise NotFound(f"no file with id {draft.file_id}")
    return file, draft_content_hash(session, draft)


def approval_options(session: Session, user: User, subject: str, subject_id: int,
                     action: str, origin: str, nonce: str) -> dict[str, Any]:
    """What navigator.credentials.get() needs to sign this approval. `passkeys` 0: the
    user has none (the page then approves without one, where that is allowed)."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import (
        PublicKeyCredentialDescriptor,
        UserVerificationRequirement,
    )

    _, digest = subject_hash(session, subject, subject_id)
    keys = of_user(session, user, active_only=True)
    challenge = proof.approval_challenge(subject=subject, subject_id=subject_id,
                                         action=action, content_hash=digest,
                                         username=user.username, nonce=nonce)
    options = generate_authentication_options(
        rp_id=rp_id_of(origin), challenge=challenge,
        allow_credentials=[PublicKeyCredentialDescriptor(id=proof.unb64(k.credential_id))
                           for k in keys],
        user_verification=UserVerificationRequirement.REQUIRED)
    return {"subject": subject, "subject_id": subject_id, "action": action,
            "content_hash": digest, "nonce": nonce, "passkeys": len(keys),
            "publicKey": json.loads(options_to_json(options))}


def sign_approval(session: Session, user: User, *, subject: str, subject_id: int,
                  action: str, assertion: dict[str, Any], instance: Instance | None
                  ) -> PasskeyApproval:
    """Check `assertion` ({"nonce", "credential", "origin"}; the nonce already checked
    as this server's) against the content as it is now, and record it, in the caller's
    transaction; an assertion that does not verify changes nothing."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    nonce = str(assertion.get("nonce") or "")
    origin = str(assertion.get("origin") or "")
    credential = assertion.get("credential")
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str) \
            or not credential["id"]:
        raise InvalidInput("passkey.credential: the browser's assertion is missing")
    file, digest = subject_hash(session, subject, subject_id)
    key = session.scalar(select(Passkey).where(Passkey.credential_id == credential["id"]))
    if key is None or key.user_id != user.id:
        raise InvalidInput("passkey.credential: not a passkey registered to you")
    if key.revoked_at is not None:
        raise InvalidInput("passkey.credential: this passkey was revoked")
    if session.scalar(select(PasskeyApproval.id).where(PasskeyApproval.nonce == nonce)):
        raise Conflict("passkey.nonce: this challenge was already used; start again")
    challenge = proof.approval_challenge(subject=subject, subject_id=subject_id, action=action,
                                         content_hash=digest, username=user.username,
                                         nonce=nonce)
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge,
            expected_rp_id=key.rp_id, expected_origin=origin,
            credential_public_key=proof.unb64(key.public_key),
            credential_current_sign_count=key.sign_count, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(
            "passkey: the assertion does not verify for this approval (the content may "
            f"have changed since the challenge was made; approve again): {exc}") from exc
    key.sign_count = verified.new_sign_count
    response = credential.get("response") or {}
    record = PasskeyApproval(
        file_id=file.id, subject=subject, subject_id=subject_id,
        instance_id=instance.id if instance else None, user_id=user.id,
        username=user.username, passkey_id=key.id, action=action, content_hash=digest,
        nonce=nonce, signed_at=utcnow(), rp_id=key.rp_id, credential_id=key.credential_id,
        public_key=key.public_key, authenticator_data=str(response["authenticatorData"]),
        client_data_json=str(response["clientDataJSON"]), signature=str(response["signature"]))
    session.add(record)
    if instance is not None:
        history.append(session, instance, HISTORY_KIND, actor=user.username,
                       data={"file_no": file.file_no, "subject": subject,
                             "subject_id": subject_id, "action": action,
                             "credential_id": key.credential_id, "content_hash": digest,
                             "nonce": nonce, "signed_at": _iso(record.signed_at),
                             "signature": record.signature})
    return record


# ---------------------------------------------------------------- checking


def export_row(a: PasskeyApproval) -> dict[str, Any]:
    return {"subject": a.subject, "subject_id": a.subject_id, "file_id": a.file_id,
            "instance_id": a.instance_id, "username": a.username, "action": a.action,
            "content_hash": a.content_hash, "nonce": a.nonce, "signed_at": _iso(a.signed_at),
            **proof.Proof.of(a).as_dict()}


def name_of(a: dict[str, Any] | PasskeyApproval, file_no: str) -> str:
    get = a.get if isinstance(a, dict) else lambda k: getattr(a, k)
    signed_at = get("signed_at")
    what = "file" if get("subject") == "file" else f"draft {get('subject_id')} of file"
    return (f"passkey approval: {what} {file_no}: {get('action')} by {get('username')} at "
            f"{signed_at if isinstance(signed_at, str) else _iso(signed_at)}")


def check_row(a: dict[str, Any], key: dict[str, Any] | None) -> list[str]:
    """Problems with one approval (an `export_row`) given its passkey's registration
    (credential id, public key, revoked_at); offline."""
    problems = proof.check(proof.Proof.of(a), proof.approval_challenge(
        subject=a["subject"], subject_id=a["subject_id"], action=a["action"],
        content_hash=a["content_hash"], username=a["username"], nonce=a["nonce"]))
    if key is None:
        return [*problems, "its passkey is not on record"]
    if key.get("public_key") != a.get("public_key"):
        problems.append("its public key is not the one registered for that passkey")
    if key.get("username") not in (None, a.get("username")):
        problems.append("signed with a passkey registered to another user")
    revoked = key.get("revoked_at")
    if revoked and _when(a["signed_at"]) >= _when(revoked):
        problems.append(f"made with a passkey revoked at {revoked}")
    return problems


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def key_record(key: Passkey, username: str | None) -> dict[str, Any]:
    return {"credential_id": key.credential_id, "public_key": key.public_key,
            "username": username, "rp_id": key.rp_id, "created_at": _iso(key.created_at),
            "revoked_at": _iso(key.revoked_at) if key.revoked_at else None}


def verify(session: Session, file_id: int | None = None) -> tuple[int, list[str]]:
    """(passkey approvals checked, problems): each assertion against its challenge and
    public key, the key against its registration and revocation, the content hash against
    the content now, and each approval against its history record. With `file_id`, only
    that file's approvals."""
    from engine.audit import signing  # the reopening rules live there

    problems: list[str] = []
    checked = 0
    users = {uid: name for uid, name in session.execute(select(User.id, User.username))}
    keys = {k.credential_id: key_record(k, users.get(k.user_id))
            for k in session.scalars(select(Passkey))}
    approvals = select(PasskeyApproval).order_by(PasskeyApproval.id)
    if file_id is not None:
        approvals = approvals.where(PasskeyApproval.file_id == file_id)
    for a in session.scalars(approvals):
        checked += 1
        file = session.get(File, a.file_id)
        name = name_of(a, file.file_no if file else f"id {a.file_id}")
        problems += [f"{name}: {p}" for p in check_row(export_row(a), keys.get(a.credential_id))]
        if file is not None and a.subject == "file":
            expected = signing.expected_content_hash(
                a.signed_at, a.instance_id, signing.reopenings(session, file.id),
                content_hash(session, file))
            if expected is not None and expected != a.content_hash:
                problems.append(f"{name}: the file's notes or correspondence differ from "
                                "what was approved")
        elif a.subject == "draft":
            draft = session.get(Draft, a.subject_id)
            if draft is None or draft_content_hash(session, draft) != a.content_hash:
                problems.append(f"{name}: the draft differs from what was approved")
        if a.instance_id is not None and not any(
                e.kind == HISTORY_KIND and e.data.get("signature") == a.signature
                for e in history.events(session, a.instance_id)):
            problems.append(f"{name}: the approval is not recorded in the file's history")
    return checked, problems
