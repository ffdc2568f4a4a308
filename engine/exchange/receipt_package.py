"""A receipt as it travels to a partner: a zip like the file export, checkable without a
database.

  manifest.json        format, diary number, and the SHA-256 of every other member
  receipt.json         the receipt's fields and the SHA-256 of its scan
  history.json         the hash chains of the receipt's processes (diarised, moved, ...)
  checkpoint.json      proofs tying each chain to a checkpoint hash
  documents/<sha>.pdf  the scan, when the receipt has one

The whole zip is covered by the envelope's signature (its SHA-256 is signed); the check
here finds a member changed, a history event altered or a scan swapped.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import checkpoints, export, history
from engine.read import views
from engine.store.models import Instance, Receipt, utcnow

FORMAT = "sanchika-receipt-export/1"
FIELDS = ("diary_no", "sender", "subject", "mode", "form", "category", "letter_ref",
          "letter_date", "language", "grading", "remark", "pdf_sha256", "pdf_name")


def build(session: Session, receipt: Receipt, scan: bytes | None) -> bytes:
    instances = list(session.scalars(select(Instance.id).where(
        Instance.subject_kind == "receipt", Instance.subject_id == receipt.id)
        .order_by(Instance.id)))
    chain = [history.event_body(e.instance_id, e.seq, e.kind, e.at, e.actor, e.task_spec,
                                e.data) | {"prev_hash": e.prev_hash, "hash": e.hash}
             for i in instances for e in history.events(session, i)]
    receipt_json = {k: getattr(receipt, k) for k in FIELDS} | {
        "received_at": views.iso(receipt.received_at), "instances": instances}
    members: dict[str, bytes] = {
        "receipt.json": _json(receipt_json),
        "history.json": _json(chain),
        "checkpoint.json": _json([p for p in (checkpoints.proof(session, i)
                                              for i in instances) if p is not None]),
    }
    if scan is not None and receipt.pdf_sha256:
        members[f"documents/{receipt.pdf_sha256}.pdf"] = scan
    manifest = {"format": FORMAT, "diary_no": receipt.diary_no,
                "exported_at": views.iso(utcnow()),
                "members": {n: hashlib.sha256(d).hexdigest() for n, d in sorted(members.items())}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", _json(manifest))
        for name, data in sorted(members.items()):
            z.writestr(name, data)
    return out.getvalue()


def _members(package: bytes) -> tuple[dict[str, bytes], list[str]]:
    """(the members the manifest lists, problems with them)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile as exc:
        return {}, [f"package: not a readable zip ({exc})"]
    with z:
        try:
            manifest = json.loads(z.read("manifest.json"))
        except (KeyError, ValueError):
            return {}, ["manifest.json: missing or not JSON"]
        return export.listed_members(z, manifest, FORMAT)


def check(package: bytes) -> tuple[dict[str, Any], list[str]]:
    """(what the package holds: receipt, history events, scan bytes or None; problems)."""
    data, problems = _members(package)
    if not data and problems:
        return {}, problems
    try:
        receipt = json.loads(data["receipt.json"])
        chain = json.loads(data["history.json"])
        proofs = json.loads(data["checkpoint.json"])
    except (KeyError, ValueError) as exc:
        return {}, [*problems, f"package incomplete or unreadable: {exc}"]
    try:
        problems += _check_history(receipt, chain, proofs)
    except (AttributeError, KeyError, IndexError, TypeError) as exc:
        # well-formed JSON of the wrong shape: refused, never a server error
        return {}, [*problems, f"package: receipt or history malformed ({exc!r})"]
    scan = None
    digest = receipt.get("pdf_sha256")
    if digest:
        scan = data.get(f"documents/{digest}.pdf")
        if scan is None:
            problems.append(f"documents/{digest}.pdf: the scan is not included")
        elif hashlib.sha256(scan).hexdigest() != digest:
            problems.append("the scan's SHA-256 is not the one the receipt names (altered)")
    return {"receipt": receipt, "events": len(chain), "scan": scan}, problems


def _check_history(receipt: dict[str, Any], chain: list[dict[str, Any]],
                   proofs: list[dict[str, Any]]) -> list[str]:
    """Every chain whole and unaltered, tied to its checkpoint, one per process."""
    problems: list[str] = []
    chains: dict[Any, list[dict[str, Any]]] = {}
    for event in chain:
        chains.setdefault(event.get("instance_id"), []).append(event)
    for events in chains.values():
        problems += export._check_chain(events)
    for p in proofs or []:
        problems += checkpoints.check_proof(p, chains.get(p["instance_head"][0], []))
    if set(chains) != set(receipt.get("instances") or []):
        problems.append("history.json: does not hold the receipt's processes")
    return problems


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()
