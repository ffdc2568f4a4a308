"""Approvals signed on the officer's own device (WebAuthn passkeys): the pure part, with
no database, so the same code checks a live installation and an export offline.

An approval's WebAuthn challenge is not random: it is the SHA-256 of canonical JSON over
what is approved (`approval_challenge`): the subject (a file or a draft) and its id, the
action, the subject's content hash, the approver's username and a server nonce. The
authenticator signs `authenticatorData || SHA-256(clientDataJSON)`, and clientDataJSON
carries that challenge, so the stored assertion proves that the holder of the passkey's
private key approved exactly that content; anyone holding the stored rows (or an export)
can recompute the challenge and check the signature against the stored public key.

The nonce is stateless: `<expiry>.<random>.<HMAC>` under a key derived from the audit
master key, so asking for a challenge writes nothing (reads never write); the nonce is
unique in `passkey_approvals`, so an assertion is accepted once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.audit.history import canonical_json

PURPOSE = "sanchika-passkey-approval/1"
REGISTER_PURPOSE = "sanchika-passkey-register/1"
NONCE_SECONDS = 300  # a challenge is good for five minutes
SUBJECTS = ("file", "draft")
# the fields an approval's proof consists of, as stored and exported
PROOF_FIELDS = ("rp_id", "credential_id", "public_key", "authenticator_data",
                "client_data_json", "signature")


def b64(data: bytes) -> str:
    """Base64url without padding, as WebAuthn writes it."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    # padding is optional in base64url; the decoder ignores too much of it
    return base64.urlsafe_b64decode(f"{text}===")


def approval_challenge(*, subject: str, subject_id: int, action: str, content_hash: str,
                       username: str, nonce: str) -> bytes:
    """The 32 bytes the authenticator is asked to sign over (via clientDataJSON)."""
    return hashlib.sha256(canonical_json({
        "purpose": PURPOSE, "subject": subject, "subject_id": subject_id, "action": action,
        "content_hash": content_hash, "username": username, "nonce": nonce,
    }).encode()).digest()


def registration_challenge(username: str, nonce: str) -> bytes:
    return hashlib.sha256(canonical_json({"purpose": REGISTER_PURPOSE, "username": username,
                                          "nonce": nonce}).encode()).digest()


# ---------------------------------------------------------------- nonces


def make_nonce(secret: bytes, purpose: str, user_id: int, now: float) -> str:
    expires = int(now) + NONCE_SECONDS
    random = secrets.token_urlsafe(18)
    return f"{expires}.{random}.{_mac(secret, purpose, user_id, expires, random)}"


def nonce_problem(secret: bytes, nonce: str, purpose: str, user_id: int, now: float
                  ) -> str | None:
    """Why `nonce` is not one this server gave `user_id` for `purpose` in the last five
    minutes; None when it is."""
    parts = str(nonce).split(".")
    if len(parts) != 3 or not parts[0].isdigit():
        return "not a challenge this server issued"
    expires, random, mac = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(secret, purpose, user_id, expires, random)):
        return "not a challenge this server issued to you"
    if now > expires:
        return "the challenge has expired; start again"
    return None


def _mac(secret: bytes, purpose: str, user_id: int, expires: int, random: str) -> str:
    digest = hmac.new(secret, f"{purpose}|{user_id}|{expires}|{random}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


# ---------------------------------------------------------------- the offline check


@dataclass(frozen=True)
class Proof:
    """A stored assertion: every field base64url except the relying party id."""

    rp_id: str
    credential_id: str
    public_key: str  # the credential's COSE public key, as registered
    authenticator_data: str
    client_data_json: str
    signature: str

    @classmethod
    def of(cls, row: Any) -> Proof:
        get = row.get if isinstance(row, dict) else lambda k: getattr(row, k, None)
        return cls(**{k: str(get(k) or "") for k in PROOF_FIELDS})

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in PROOF_FIELDS}


def origin_matches(origin: str, rp_id: str) -> bool:
    """The page's origin is the relying party's host or one below it."""
    host = urlsplit(origin).hostname or ""
    return bool(rp_id) and (host == rp_id or host.endswith("." + rp_id))


def check(proof: Proof, expected_challenge: bytes, *, require_uv: bool = True) -> list[str]:
    """What is wrong with `proof` as an assertion over `expected_challenge` (empty: it
    verifies). Needs nothing but the proof: usable offline."""
    # webauthn and its X.509/ASN.1 stack load when a proof is first checked, not with
    # every process that imports the engine
    from cryptography.exceptions import InvalidSignature
    from webauthn.helpers import (
        decode_credential_public_key,
        decoded_public_key_to_cryptography,
        parse_authenticator_data,
        parse_client_data_json,
        verify_signature,
    )
    from webauthn.helpers.exceptions import InvalidAuthenticatorDataStructure, WebAuthnException

    try:
        auth_data = unb64(proof.authenticator_data)
        client_json = unb64(proof.client_data_json)
        signature = unb64(proof.signature)
        key_bytes = unb64(proof.public_key)
    except (ValueError, TypeError):
        return ["the stored assertion is not base64url"]
    problems = []
    try:
        client = parse_client_data_json(client_json)
    except (WebAuthnException, ValueError, TypeError):
        return ["clientDataJSON is unreadable"]
    if client.type != "webauthn.get":
        problems.append(f"clientDataJSON is of type {client.type!r}, not an assertion")
    if not hmac.compare_digest(client.challenge, expected_challenge):
        problems.append("the signed challenge is not the one for this approval "
                        "(file, action, content hash, approver and nonce)")
    if not origin_matches(client.origin, proof.rp_id):
        problems.append(f"signed on {client.origin}, not on {proof.rp_id}")
    try:
        parsed = parse_authenticator_data(auth_data)
    except (InvalidAuthenticatorDataStructure, WebAuthnException, ValueError, IndexError):
        return [*problems, "the authenticator data is unreadable"]
    if parsed.rp_id_hash != hashlib.sha256(proof.rp_id.encode()).digest():
        problems.append(f"the authenticator data is not for {proof.rp_id}")
    if not parsed.flags.up:
        problems.append("the authenticator did not see the user present")
    if require_uv and not parsed.flags.uv:
        problems.append("the authenticator did not verify the user (PIN or biometric)")
    try:
        decoded = decode_credential_public_key(key_bytes)
        public = decoded_public_key_to_cryptography(decoded)
        verify_signature(public_key=public, signature_alg=decoded.alg, signature=signature,
                         data=auth_data + hashlib.sha256(client_json).digest())
    except InvalidSignature:
        problems.append("the signature does not verify (forged or altered)")
    except (WebAuthnException, ValueError, TypeError, KeyError):
        problems.append("the stored public key is unreadable")
    return problems
