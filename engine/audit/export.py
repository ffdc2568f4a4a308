"""A self-contained, verifiable export of one file (for courts and RTI replies), and the
offline check of such an export (`sanchika verify --export PATH`, no database needed).

The zip holds:
  manifest.json        format, file, and the SHA-256 of every other member
  file.json            the file, its content (exactly what its content hash covers),
                       notes, correspondence metadata, movements
  history.json         the hash chains of every process the file went through
  signatures.json      the approvals signed by the server-held key (the fallback)
  public_keys/<id>.pem the signers' public keys
  passkey_approvals.json  the approvals signed with a passkey: each WebAuthn assertion
                       (authenticator data, clientDataJSON, signature), the nonce and the
                       COSE public key, enough to recompute the challenge and check it
  passkeys.json        the registrations of those passkeys (owner, created, revoked)
  checkpoint.json      proofs tying each chain to a checkpoint hash
  documents/<sha>.pdf  the PDFs of its correspondence, when stored
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import checkpoints, history, passkeys, signing
from engine.domain.files import content, content_hash
from engine.read import views
from engine.store.audit_models import ApprovalSignature, Passkey, PasskeyApproval, UserKey
from engine.store.models import File, Instance, Movement, User, utcnow

FORMAT = "sanchika-file-export/1"
# how an approval in signatures.json was signed: by the key the server holds for the
# officer, the fallback where the installation allows approvals without a passkey
SERVER_KEY = "server-key (fallback)"


def build(session: Session, file: File, pdfs: dict[str, bytes] | None = None) -> bytes:
    """The export of `file` as zip bytes; `pdfs` maps SHA-256 to document bytes."""
    names = views.Names(session)
    # every process the file went through (a reopened file has several), each chain whole
    instances = list(session.scalars(select(Instance.id).where(
        Instance.subject_kind == "file", Instance.subject_id == file.id).order_by(Instance.id)))
    chain = [history.event_body(e.instance_id, e.seq, e.kind, e.at, e.actor, e.task_spec,
                                e.data) | {"prev_hash": e.prev_hash, "hash": e.hash}
             for i in instances for e in history.events(session, i)]
    body = content(session, file)
    sigs = list(session.scalars(select(ApprovalSignature).where(
        ApprovalSignature.file_id == file.id).order_by(ApprovalSignature.id)))
    keys = {k.key_id: k for k in session.scalars(select(UserKey).where(
        UserKey.key_id.in_({s.key_id for s in sigs})))}
    approvals = list(session.scalars(select(PasskeyApproval).where(
        PasskeyApproval.file_id == file.id).order_by(PasskeyApproval.id)))
    used = session.execute(select(Passkey, User.username).join(User, User.id == Passkey.user_id)
                           .where(Passkey.credential_id.in_({a.credential_id
                                                             for a in approvals}))).all()
    movements = session.scalars(select(Movement).where(Movement.file_id == file.id)
                                .order_by(Movement.id))
    file_json = {
        "file": {"id": file.id, "file_no": file.file_no, "subject": file.subject,
                 "status": file.status, "locked": file.locked,
                 "locked_at": views.iso(file.locked_at), "created_at": views.iso(file.created_at),
                 "record_category": file.record_category, "instance_id": file.instance_id,
                 "instances": instances},
        "content": body,
        "content_hash": content_hash(session, file),
        "movements": [views.movement_row(m, names) for m in movements],
    }
    members: dict[str, bytes] = {
        "file.json": _json(file_json),
        "history.json": _json(chain),
        "signatures.json": _json([{
            "file_id": s.file_id, "instance_id": s.instance_id, "username": s.username,
            "key_id": s.key_id, "action": s.action, "content_hash": s.content_hash,
            "signed_at": signing._iso(s.signed_at), "signature": s.signature,
            "method": SERVER_KEY} for s in sigs]),
        "passkey_approvals.json": _json([passkeys.export_row(a) for a in approvals]),
        "passkeys.json": _json(sorted((passkeys.key_record(k, name) for k, name in used),
                                      key=lambda k: k["credential_id"])),
        "checkpoint.json": _json([p for p in (checkpoints.proof(session, i) for i in instances)
                                  if p is not None]),
    }
    for key in keys.values():
        members[f"public_keys/{key.key_id}.pem"] = key.public_pem.encode()
    pdfs = pdfs or {}
    for digest, data in sorted(pdfs.items()):
        members[f"documents/{digest}.pdf"] = data
    # A PDF the server does not hold is declared, so its absence is not taken for removal.
    file_json["documents_missing"] = sorted(
        {c["pdf_sha256"] for c in body["correspondence"] if c["pdf_sha256"]} - set(pdfs))
    members["file.json"] = _json(file_json)
    manifest = {"format": FORMAT, "file_no": file.file_no, "exported_at": views.iso(utcnow()),
                "members": {name: hashlib.sha256(data).hexdigest()
                            for name, data in sorted(members.items())}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", _json(manifest))
        for name, data in sorted(members.items()):
            z.writestr(name, data)
    return out.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()


# ---------------------------------------------------------------- offline check


class _Unreadable(Exception):
    """The zip, or its manifest, cannot be read at all."""


def _read_zip(path: str | Path) -> tuple[dict[str, Any], dict[str, bytes], list[str]]:
    """(manifest, the members it lists, problems with the members)."""
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise _Unreadable(f"{path}: not a readable zip ({exc})") from exc
    with z:
        names = set(z.namelist())
        if "manifest.json" not in names:
            raise _Unreadable("manifest.json: missing")
        try:
            manifest = json.loads(z.read("manifest.json"))
        except ValueError:
            raise _Unreadable("manifest.json: not JSON") from None
        data, problems = listed_members(z, manifest, FORMAT)
    return manifest, data, problems


def listed_members(z: zipfile.ZipFile, manifest: dict[str, Any], fmt: str
                   ) -> tuple[dict[str, bytes], list[str]]:
    """(the members a zip's manifest lists, problems): the format, members not listed,
    listed but missing, and each member against its SHA-256. Exports and the receipt
    packages sent between installations share this layout."""
    names = set(z.namelist())
    problems: list[str] = []
    if manifest.get("format") != fmt:
        problems.append(f"manifest.json: unknown format {manifest.get('format')!r}")
    listed = manifest.get("members") or {}
    problems += [f"{name}: not listed in the manifest"
                 for name in sorted(names - {"manifest.json"} - set(listed))]
    data: dict[str, bytes] = {}
    for name, digest in sorted(listed.items()):
        if name not in names:
            problems.append(f"{name}: listed in the manifest but missing")
            continue
        data[name] = z.read(name)
        if hashlib.sha256(data[name]).hexdigest() != digest:
            problems.append(f"{name}: its SHA-256 differs from the manifest")
    return data, problems


def check(path: str | Path) -> tuple[str, list[str]]:
    """(what was checked, problems). Needs nothing but the zip."""
    try:
        manifest, data, problems = _read_zip(path)
    except _Unreadable as exc:
        return str(path), [str(exc)]
    label = f"file {manifest.get('file_no')}"
    try:
        file_json = json.loads(data["file.json"])
        chain = json.loads(data["history.json"])
        sigs = json.loads(data["signatures.json"])
        proof = json.loads(data["checkpoint.json"])
    except (KeyError, ValueError) as exc:
        return label, [*problems, f"export incomplete or unreadable: {exc}"]
    chains: dict[Any, list[dict[str, Any]]] = {}
    for event in chain:
        chains.setdefault(event.get("instance_id"), []).append(event)
    for events in chains.values():
        problems += _check_chain(events)
    problems += _check_content(file_json, chain, sigs)
    problems += _check_signatures(file_json, sigs, data)
    problems += _check_passkeys(file_json, chain, data)
    problems += _check_documents(file_json, data)
    for p in proof or []:
        problems += checkpoints.check_proof(p, chains.get(p["instance_head"][0], []))
    return label, problems


def _check_chain(chain: list[dict[str, Any]]) -> list[str]:
    prev = history.GENESIS
    for expected, event in enumerate(chain, start=1):
        where = f"history.json: instance {event.get('instance_id')}"
        name = f"{where} event #{event.get('seq')} ({event.get('kind')})"
        if event.get("seq") != expected:
            return [f"{where} event #{expected} missing or out of order"]
        body = {k: event.get(k) for k in ("instance_id", "seq", "kind", "at", "actor",
                                          "task_spec", "data")}
        if event.get("prev_hash") != prev or history.event_hash(prev, body) != event.get("hash"):
            return [f"{name} was altered"]
        prev = event["hash"]
    return []


def _check_content(file_json: dict[str, Any], chain: list[dict[str, Any]],
                   sigs: list[dict[str, Any]]) -> list[str]:
    problems = []
    digest = hashlib.sha256(history.canonical_json(file_json.get("content")).encode()).hexdigest()
    if digest != file_json.get("content_hash"):
        problems.append("file.json: its content does not give its content hash")
    handlers = [e for e in chain if e.get("kind") == "handler_called"]
    reopened = signing.reopenings_in((e.get("at"), e.get("instance_id"), e.get("data"))
                                     for e in handlers)
    for e in handlers:
        if (e.get("data") or {}).get("handler") != "lock_file":
            continue
        recorded = ((e.get("data") or {}).get("result") or {}).get("content_hash")
        expected = signing.expected_content_hash(e.get("at"), e.get("instance_id"), reopened,
                                                 digest)
        if recorded and expected and recorded != expected:
            problems.append(f"file.json: its notes or correspondence differ from what event "
                            f"#{e['seq']} (lock_file) recorded")
    for s in sigs:
        expected = signing.expected_content_hash(s.get("signed_at"), s.get("instance_id"),
                                                 reopened, digest)
        if expected and s.get("content_hash") != expected:
            problems.append(f"file.json: its notes or correspondence differ from what "
                            f"{s.get('username')} signed at {s.get('signed_at')}")
    recorded_sigs = {(e.get("data") or {}).get("signature") for e in chain
                     if e.get("kind") == "approval_signed"}
    for s in sigs:
        if s.get("signature") not in recorded_sigs:
            problems.append(f"signatures.json: the signature of {s.get('username')} is not "
                            "in the history")
    if len(recorded_sigs) != len(sigs):
        problems.append("signatures.json: the history records "
                        f"{len(recorded_sigs)} signed approval(s), the export has {len(sigs)}")
    return problems


# What each exported signature must carry to rebuild the signed bytes (signing.payload).
SIGNED_FIELDS = ("file_id", "instance_id", "username", "key_id", "action", "content_hash",
                 "signed_at")


def _check_signatures(file_json: dict[str, Any], sigs: list[dict[str, Any]],
                      data: dict[str, bytes]) -> list[str]:
    problems = []
    file_no = (file_json.get("file") or {}).get("file_no")
    for s in sigs:
        who = f"signatures.json: {s.get('action')} by {s.get('username')}"
        pem = data.get(f"public_keys/{s.get('key_id')}.pem")
        if pem is None:
            problems.append(f"{who}: public key {str(s.get('key_id'))[:16]}… not included")
            continue
        try:
            if signing.key_id_of(signing.load_public(pem.decode())) != s.get("key_id"):
                problems.append(f"{who}: the included public key is not key {s.get('key_id')}")
                continue
        except ValueError:
            problems.append(f"{who}: the included public key is unreadable")
            continue
        missing = [k for k in SIGNED_FIELDS if s.get(k) is None]
        if file_no is None or missing:
            problems.append(f"{who}: incomplete, lacks {', '.join(missing) or 'the file number'}")
            continue
        message = signing.payload(
            file_no=file_no, file_id=s["file_id"], instance_id=s["instance_id"],
            signer=s["username"], key_id=s["key_id"], action=s["action"],
            content_hash_=s["content_hash"], signed_at=s["signed_at"])
        if not signing.check(pem.decode(), message, s.get("signature") or ""):
            problems.append(f"{who}: the signature does not verify")
    return problems


def _check_passkeys(file_json: dict[str, Any], chain: list[dict[str, Any]],
                    data: dict[str, bytes]) -> list[str]:
    """Each passkey approval: its assertion against the recomputed challenge and its
    public key, its passkey's registration and revocation, the file's content, and its
    record in the history. (An export made before passkeys has neither member.)"""
    try:
        approvals = json.loads(data.get("passkey_approvals.json") or b"[]")
        keys = {k.get("credential_id"): k for k in json.loads(data.get("passkeys.json")
                                                                or b"[]")}
    except ValueError:
        return ["passkey_approvals.json or passkeys.json: not JSON"]
    file_no = (file_json.get("file") or {}).get("file_no") or "?"
    digest = str(file_json.get("content_hash") or "")
    reopened = signing.reopenings_in((e.get("at"), e.get("instance_id"), e.get("data"))
                                     for e in chain if e.get("kind") == "handler_called")
    recorded = {(e.get("data") or {}).get("signature") for e in chain
                if e.get("kind") == passkeys.HISTORY_KIND}
    problems = []
    for a in approvals:
        name = f"passkey_approvals.json: {passkeys.name_of(a, file_no)}"
        missing = [k for k in ("subject", "subject_id", "action", "content_hash", "username",
                               "nonce", "signed_at") if a.get(k) is None]
        if missing:
            problems.append(f"{name}: incomplete, lacks {', '.join(missing)}")
            continue
        problems += [f"{name}: {p}" for p in passkeys.check_row(a, keys.get(
            a.get("credential_id")))]
        if a["subject"] == "file":
            expected = signing.expected_content_hash(a["signed_at"], a.get("instance_id"),
                                                     reopened, digest)
            if expected and expected != a["content_hash"]:
                problems.append(f"{name}: the file's notes or correspondence differ from "
                                "what was approved")
        if a.get("instance_id") is not None and a.get("signature") not in recorded:
            problems.append(f"{name}: not recorded in the history")
    if len(recorded) != len(approvals):
        problems.append(f"passkey_approvals.json: the history records {len(recorded)} "
                        f"passkey approval(s), the export has {len(approvals)}")
    return problems


def _check_documents(file_json: dict[str, Any], data: dict[str, bytes]) -> list[str]:
    problems = []
    for name, blob in data.items():
        if name.startswith("documents/"):
            digest = name.removeprefix("documents/").removesuffix(".pdf")
            if hashlib.sha256(blob).hexdigest() != digest:
                problems.append(f"{name}: its SHA-256 is not its name")
    content_ = file_json.get("content") or {}
    declared = set(file_json.get("documents_missing") or [])
    for item in content_.get("correspondence") or []:
        digest = item.get("pdf_sha256")
        if digest and digest not in declared and f"documents/{digest}.pdf" not in data:
            problems.append(f"documents/{digest}.pdf: the PDF of {item.get('diary_no')} "
                            "is not included")
    return problems
