"""The envelope of a package sent to a partner, and its signature.

The signature covers the envelope's canonical JSON, which names the package's SHA-256, so
it covers the package too. The nonce makes every sending unique: the receiver keeps the
nonces it has taken and refuses one seen before (a replay)."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.audit.signing import load_public

FORMAT = "sanchika-exchange/1"
FIELDS = ("format", "from", "to", "to_post", "kind", "number", "subject", "remark", "nonce",
          "sent_at", "package_sha256", "in_reply_to")


def canonical(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def make(*, sender: str, to: str, to_post: str, kind: str, number: str, subject: str,
         remark: str | None, sent_at: str, package: bytes, in_reply_to: str | None = None
         ) -> dict[str, Any]:
    """in_reply_to: the receiver's own file number when this answers a file it sent."""
    return {"format": FORMAT, "from": sender, "to": to, "to_post": to_post, "kind": kind,
            "number": number, "subject": subject, "remark": remark, "in_reply_to": in_reply_to,
            "nonce": uuid.uuid4().hex, "sent_at": sent_at,
            "package_sha256": hashlib.sha256(package).hexdigest()}


def sign(key: Ed25519PrivateKey, envelope: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(canonical(envelope))).decode()


def verify(pem: str, envelope: dict[str, Any], signature: str) -> bool:
    try:
        load_public(pem).verify(base64.b64decode(signature, validate=True),
                                canonical(envelope))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
