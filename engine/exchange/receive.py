"""Checking a package that arrives from a partner, before anything is written.

Refused (nothing diarised), each with its reason: an unknown or withdrawn partner; a
signature that does not verify with the partner's registered key (forged); a package for
another installation; a package whose bytes are not the ones signed, or whose own hash
chains, content hash or approval signatures do not check (altered); a nonce already taken
(replayed; the unique constraint settles two arrivals at once)."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import export
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.exchange import envelope as envelopes
from engine.exchange import receipt_package
from engine.store.exchange_models import ExchangeIn, Partner

MAX_PACKAGE = 50 * 1024 * 1024


def check(session: Session, own_name: str, raw_envelope: str, signature: str,
          package: bytes) -> tuple[Partner, dict[str, Any], dict[str, Any]]:
    """(partner, envelope, what the package holds) of a package that passes every check:
    a file's export (engine/audit/export.py) or a receipt's (receipt_package.py)."""
    try:
        env = json.loads(raw_envelope)
    except ValueError:
        raise InvalidInput("envelope: not JSON") from None
    if not isinstance(env, dict) or sorted(env) != sorted(envelopes.FIELDS) \
            or env.get("format") != envelopes.FORMAT:
        raise InvalidInput(f"envelope: not a {envelopes.FORMAT} envelope")
    partner = session.scalar(select(Partner).where(Partner.name == str(env["from"])))
    if partner is None or not partner.active:
        raise Forbidden(f"envelope: '{env['from']}' is not a registered partner")
    if not envelopes.verify(partner.public_pem, env, signature or ""):
        raise Forbidden(f"signature: the envelope is not signed by {partner.name}'s key "
                        "(forged or altered)")
    if env["to"] != own_name:
        raise InvalidInput(f"envelope: addressed to '{env['to']}', not to '{own_name}'")
    if len(package) > MAX_PACKAGE:
        raise InvalidInput("package: too large")
    if hashlib.sha256(package).hexdigest() != env["package_sha256"]:
        raise InvalidInput("package: its SHA-256 is not the one signed (altered in transit)")
    found, problems = _verify(env["kind"], package)
    if problems:
        raise InvalidInput("package: the export does not verify: " + "; ".join(problems[:5]))
    if session.scalar(select(ExchangeIn.id).where(ExchangeIn.partner_id == partner.id,
                                                  ExchangeIn.nonce == env["nonce"])):
        raise Conflict(f"package already received from {partner.name} (a replay is refused)")
    if env["kind"] == "receipt":
        return partner, env, found | {"signatures": 0}
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        file_json = json.loads(z.read("file.json"))
        history = json.loads(z.read("history.json"))
        signatures = json.loads(z.read("signatures.json"))
    return partner, env, {"file": file_json, "events": len(history),
                          "signatures": len(signatures)}


def _verify(kind: str, package: bytes) -> tuple[dict[str, Any], list[str]]:
    """The package's own checks: a file's export, or a receipt's package."""
    if kind == "receipt":
        return receipt_package.check(package)
    if kind != "file":
        raise InvalidInput(f"envelope: unknown kind {kind!r}")
    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
        tmp.write(package)
        tmp.flush()
        _label, problems = export.check(tmp.name)
    return {}, problems
