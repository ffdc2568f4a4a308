"""The pure part of passkey approvals: the challenge commits to what is approved, nonces
are this server's and expire, and a stored assertion verifies offline — and stops
verifying when any part of it, or of what it approved, is changed."""

from __future__ import annotations

import base64
import json

import pytest

from engine.audit import passkey_proof as proof
from tests.passkey_device import UP, Device

SECRET = b"k" * 32
WHAT = {"subject": "file", "subject_id": 7, "action": "approve", "content_hash": "ab" * 32,
        "username": "ds", "nonce": "1.x.y"}


def _signed(device: Device, challenge: bytes, flags: int = 0x05) -> proof.Proof:
    options = {"publicKey": {"challenge": proof.b64(challenge)}}
    response = device.sign(options, flags=flags)["response"]
    return proof.Proof(rp_id=device.rp_id, credential_id=device.id,
                       public_key=proof.b64(device.cose_key()),
                       authenticator_data=response["authenticatorData"],
                       client_data_json=response["clientDataJSON"],
                       signature=response["signature"])


def test_the_challenge_commits_to_every_field() -> None:
    base = proof.approval_challenge(**WHAT)
    assert len(base) == 32
    assert proof.approval_challenge(**WHAT) == base  # deterministic: recomputable offline
    for field, other in (("subject", "draft"), ("subject_id", 8), ("action", "reject"),
                         ("content_hash", "cd" * 32), ("username", "us"), ("nonce", "2.x.y")):
        assert proof.approval_challenge(**{**WHAT, field: other}) != base, field


def test_nonces_are_the_servers_own_and_expire() -> None:
    nonce = proof.make_nonce(SECRET, "approve", 3, now=1000.0)
    assert proof.nonce_problem(SECRET, nonce, "approve", 3, now=1000.0) is None
    assert proof.nonce_problem(SECRET, nonce, "approve", 3, now=1000.0 + 301) == \
        "the challenge has expired; start again"
    assert "issued to you" in (proof.nonce_problem(SECRET, nonce, "approve", 4, 1000.0) or "")
    assert "issued to you" in (proof.nonce_problem(SECRET, nonce, "register", 3, 1000.0) or "")
    assert "issued to you" in (proof.nonce_problem(b"o" * 32, nonce, "approve", 3, 1000.0) or "")
    assert proof.nonce_problem(SECRET, "garbage", "approve", 3, 1000.0) is not None


def test_a_real_assertion_verifies_offline() -> None:
    device = Device()
    challenge = proof.approval_challenge(**WHAT)
    assert proof.check(_signed(device, challenge), challenge) == []


def test_another_approval_does_not_verify_with_this_assertion() -> None:
    device = Device()
    signed = _signed(device, proof.approval_challenge(**WHAT))
    other = proof.approval_challenge(**{**WHAT, "content_hash": "cd" * 32})
    assert any("challenge is not the one" in p for p in proof.check(signed, other))


@pytest.mark.parametrize("field", ["authenticator_data", "client_data_json", "signature"])
def test_altering_any_part_of_the_assertion_fails(field: str) -> None:
    device = Device()
    challenge = proof.approval_challenge(**WHAT)
    signed = _signed(device, challenge)
    raw = bytearray(proof.unb64(getattr(signed, field)))
    if field == "client_data_json":  # still JSON with the same challenge: only the bytes
        data = json.loads(raw)
        data["crossOrigin"] = True
        raw = bytearray(json.dumps(data).encode())
    else:
        raw[-1] ^= 1
    altered = proof.Proof(**{**signed.as_dict(), field: proof.b64(bytes(raw))})
    problems = proof.check(altered, challenge)
    assert any("signature does not verify" in p for p in problems), problems


def test_another_key_does_not_verify() -> None:
    challenge = proof.approval_challenge(**WHAT)
    signed = _signed(Device(), challenge)
    swapped = proof.Proof(**{**signed.as_dict(), "public_key": proof.b64(Device().cose_key())})
    assert any("signature does not verify" in p for p in proof.check(swapped, challenge))


def test_relying_party_presence_and_verification_are_checked() -> None:
    challenge = proof.approval_challenge(**WHAT)
    elsewhere = Device(rp_id="evil.example", origin="https://evil.example")
    signed = _signed(elsewhere, challenge)
    relabelled = proof.Proof(**{**signed.as_dict(), "rp_id": "localhost"})
    problems = proof.check(relabelled, challenge)
    assert any("not for localhost" in p for p in problems)
    assert any("not on localhost" in p for p in problems)
    no_uv = _signed(Device(), challenge, flags=UP)
    assert any("did not verify the user" in p for p in proof.check(no_uv, challenge))
    assert proof.check(no_uv, challenge, require_uv=False) == []


def test_garbage_is_reported_not_raised() -> None:
    challenge = proof.approval_challenge(**WHAT)
    junk = proof.Proof(rp_id="localhost", credential_id="x", public_key="!!",
                       authenticator_data="", client_data_json="", signature="")
    assert proof.check(junk, challenge)
    not_json = proof.Proof(rp_id="localhost", credential_id="x", public_key="",
                           authenticator_data="", signature="",
                           client_data_json=base64.urlsafe_b64encode(b"{").decode())
    assert proof.check(not_json, challenge) == ["clientDataJSON is unreadable"]
