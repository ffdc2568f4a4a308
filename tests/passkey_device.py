"""A software WebAuthn authenticator for tests: a real EC P-256 key that makes real
registration responses (attestation "none") and assertions, the bytes a browser would
send. Nothing of py_webauthn is replaced: the server checks these as it checks a device's.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40


class Device:
    def __init__(self, rp_id: str = "localhost", origin: str = "http://localhost") -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.count = 0

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        self.count += 1
        return (hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags])
                + struct.pack(">I", self.count) + attested)

    def register(self, options: dict[str, Any]) -> dict[str, Any]:
        """The response to navigator.credentials.create(options["publicKey"])."""
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id))
                    + self.credential_id + self.cose_key())
        auth_data = self._auth_data(UP | UV | AT, attested)
        client = self._client_data("webauthn.create", options["publicKey"]["challenge"])
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"clientDataJSON": bytes_to_base64url(client),
                             "attestationObject": bytes_to_base64url(attestation)}}

    def sign(self, options: dict[str, Any], flags: int = UP | UV) -> dict[str, Any]:
        """The response to navigator.credentials.get(options["publicKey"])."""
        auth_data = self._auth_data(flags)
        client = self._client_data("webauthn.get", options["publicKey"]["challenge"])
        signature = self.key.sign(auth_data + hashlib.sha256(client).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"authenticatorData": bytes_to_base64url(auth_data),
                             "clientDataJSON": bytes_to_base64url(client),
                             "signature": bytes_to_base64url(signature)}}

    def approval(self, options: dict[str, Any]) -> dict[str, Any]:
        """What an approve command takes: the nonce, the assertion and the origin."""
        return {"nonce": options["nonce"], "credential": self.sign(options),
                "origin": self.origin}
