"""Approvals signed on the officer's own device: a passkey registered, a file and a draft
approved with it, `verify` and the export checking the assertions, tampering, revocation,
and an installation that requires passkeys. The authenticator is tests/passkey_device.py:
real keys and real WebAuthn bytes, checked by the real py_webauthn."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import handlers
from engine.app import Sanchika
from engine.audit.export import check
from engine.config import Settings
from engine.errors import Conflict, InvalidInput
from engine.store.audit_models import ApprovalSignature, Passkey, PasskeyApproval
from tests.flow import inbox_task
from tests.integration.test_export import rewrite, verify_export
from tests.passkey_device import Device
from tests.tamper import tamper

ORIGIN = "http://localhost"


def registered(service, user, device: Device | None = None) -> Device:
    device = device or Device()
    options = service.passkey_registration_options(user, ORIGIN)
    assert options["publicKey"]["rp"]["id"] == "localhost"
    service.register_passkey(user, device.register(options), options["nonce"], ORIGIN,
                             "laptop")
    return device


def file_at_ds(service, users, subject="Passkey file"):
    rid = service.diarise(users["clerk"], {"sender": "Collectorate", "subject": subject})["id"]
    f = service.open_file(users["clerk"], subject, "11011", receipt_id=rid)
    service.add_note(users["clerk"], f["id"], "Proposal as per rules.")
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "ds"})
    return f


def approve_with(service, users, device, f):
    task = inbox_task(service, users["ds"], file_id=f["id"])["id"]
    options = service.task_approval_options(users["ds"], task, ORIGIN)
    assert options["passkeys"] == 1
    return service.act(users["ds"], task, {"action": "approve",
                                           "passkey": device.approval(options)})


def test_register_approve_verify_and_export(service, users, tmp_path):
    device = registered(service, users["ds"])
    assert [k["name"] for k in service.my_passkeys(users["ds"])] == ["laptop"]
    assert service.my_passkeys(users["so"]) == []
    f = file_at_ds(service, users)
    assert approve_with(service, users, device, f)["done"]
    report = service.verify_report()
    assert report.problems == []
    assert report.passkey_approvals == 1
    assert "1 passkey approvals" in report.summary()
    with service.db.reader() as s:
        row = s.scalar(select(PasskeyApproval))
        assert (row.username, row.subject, row.subject_id, row.action) == (
            "ds", "file", f["id"], "approve")
        assert row.credential_id == device.id
        # signed on the device: no server-held signature for this approval
        assert s.scalar(select(ApprovalSignature).where(
            ApprovalSignature.file_id == f["id"])) is None
    assert "approval_passkey" in [e["kind"] for e in service.file_history(users["ds"], f["id"])]
    replayed = service.replay_file(users["ds"], f["id"])
    assert [(x["signer"], x["method"]) for x in replayed["signatures"]] == [("ds", "passkey")]
    _, data = service.export_file(users["ds"], f["id"])
    (tmp_path / "f.zip").write_bytes(data)
    assert check(tmp_path / "f.zip")[1] == []
    run = verify_export(tmp_path / "f.zip", tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_altered_assertion_fails_verify_naming_the_approval(service, users):
    device = registered(service, users["ds"])
    f = file_at_ds(service, users)
    approve_with(service, users, device, f)
    with service.db.reader() as s:
        sig = s.scalar(select(PasskeyApproval.signature))
    forged = sig[:-4] + ("AAAA" if not sig.endswith("AAAA") else "BBBB")
    tamper(service, "UPDATE passkey_approvals SET signature = :v", ("passkey_approvals",),
           v=forged)
    problems = service.verify_report().problems
    file_no = service.file(users["ds"], f["id"])["file_no"]
    assert any(p.startswith(f"passkey approval: file {file_no}: approve by ds at")
               and "signature does not verify" in p for p in problems), problems
    # the file's own verification (its page in the auditor's room) finds it too
    one = service.verify_file(users["auditor"], f["id"])
    assert any("signature does not verify" in str(p) for p in one["problems"]), one


def test_altered_export_fails_naming_the_approval(service, users, tmp_path):
    device = registered(service, users["ds"])
    f = file_at_ds(service, users)
    approve_with(service, users, device, f)
    _, data = service.export_file(users["ds"], f["id"])
    (tmp_path / "f.zip").write_bytes(data)

    def swap_content_hash(members):
        import json

        rows = json.loads(members["passkey_approvals.json"])
        rows[0]["content_hash"] = "0" * 64
        members["passkey_approvals.json"] = json.dumps(rows).encode()

    rewrite(tmp_path / "f.zip", tmp_path / "bad.zip", swap_content_hash)
    problems = check(tmp_path / "bad.zip")[1]
    assert any("passkey approval: file" in p and "approve by ds" in p
               and "challenge is not the one" in p for p in problems), problems
    run = verify_export(tmp_path / "bad.zip", tmp_path)
    assert run.returncode != 0
    assert "approve by ds" in run.stdout + run.stderr


def test_content_changed_after_the_challenge_is_refused(service, users):
    device = registered(service, users["ds"])
    f = file_at_ds(service, users)
    task = inbox_task(service, users["ds"], file_id=f["id"])["id"]
    options = service.task_approval_options(users["ds"], task, ORIGIN)
    service.add_note(users["ds"], f["id"], "A note after the challenge.")
    with pytest.raises(InvalidInput, match="does not verify for this approval"):
        service.act(users["ds"], task, {"action": "approve",
                                        "passkey": device.approval(options)})
    assert inbox_task(service, users["ds"], file_id=f["id"])["id"] == task  # nothing changed


def test_nonce_of_another_user_or_a_stranger_key_is_refused(service, users):
    device = registered(service, users["ds"])
    f = file_at_ds(service, users)
    task = inbox_task(service, users["ds"], file_id=f["id"])["id"]
    options = service.task_approval_options(users["ds"], task, ORIGIN)
    foreign = service.passkey_registration_options(users["so"], ORIGIN)["nonce"]
    with pytest.raises(InvalidInput, match=r"passkey\.nonce"):
        service.act(users["ds"], task, {"action": "approve", "passkey": {
            **device.approval(options), "nonce": foreign}})
    with pytest.raises(InvalidInput, match="not a passkey registered to you"):
        service.act(users["ds"], task, {"action": "approve",
                                        "passkey": Device().approval(options)})


def test_revoked_key_is_refused_and_use_after_revocation_fails_verify(service, users):
    device = registered(service, users["ds"])
    f = file_at_ds(service, users)
    approve_with(service, users, device, f)
    key = service.my_passkeys(users["ds"])[0]
    revoked = service.revoke_passkey(users["ds"], key["id"])
    service.revoke_passkey(users["ds"], key["id"])  # again: nothing more happens
    kinds = [e["kind"] for e in service.audit_log(users["auditor"])
             if e["kind"].startswith("passkey_")]
    assert kinds == ["passkey_revoked", "passkey_registered"]
    assert revoked["active"] is False
    assert revoked["revoked_at"]
    # approved before the revocation: still verifies
    assert service.verify_report().problems == []
    g = file_at_ds(service, users, "Second")
    task = inbox_task(service, users["ds"], file_id=g["id"])["id"]
    options = service.task_approval_options(users["ds"], task, ORIGIN)
    assert options["passkeys"] == 0
    with pytest.raises(InvalidInput, match="revoked"):
        service.act(users["ds"], task, {"action": "approve",
                                        "passkey": device.approval(options)})
    # a revocation dated before the approval (what a use after revocation looks like)
    tamper(service, "UPDATE passkeys SET revoked_at = '2000-01-01 00:00:00.000000'", ())
    problems = service.verify_report().problems
    assert any("approve by ds" in p and "made with a passkey revoked at" in p
               for p in problems), problems
    # re-registering: a new passkey, and it signs again
    other = registered(service, users["ds"], Device())
    assert [k["active"] for k in service.my_passkeys(users["ds"])] == [False, True]
    options = service.task_approval_options(users["ds"], task, ORIGIN)
    service.act(users["ds"], task, {"action": "approve", "passkey": other.approval(options)})


def test_revoking_another_users_passkey_is_not_found(service, users):
    registered(service, users["ds"])
    key = service.my_passkeys(users["ds"])[0]
    from engine.errors import NotFound

    with pytest.raises(NotFound):
        service.revoke_passkey(users["so"], key["id"])
    device = registered(service, users["ds"])
    with pytest.raises(Conflict, match="already registered"):
        registered(service, users["ds"], device)


def test_draft_approved_with_a_passkey(service, users):
    device = registered(service, users["ds"])
    f = file_at_ds(service, users)
    draft = service.create_draft(users["ds"], f["id"], "Reply", "Sir, approved as proposed.")
    options = service.draft_approval_options(users["ds"], draft["id"], ORIGIN)
    out = service.approve_draft(users["ds"], draft["id"], device.approval(options))
    assert out["status"] == "approved"
    report = service.verify_report()
    assert report.problems == []
    assert report.passkey_approvals == 1
    with service.db.reader() as s:
        assert s.scalar(select(PasskeyApproval.subject)) == "draft"
    tamper(service, "UPDATE draft_versions SET text = 'Sir, rejected.'", ("draft_versions",))
    assert any("the draft differs from what was approved" in p
               for p in service.verify_report().problems)


@pytest.fixture
def strict(demo: Sanchika, tmp_path: Path):
    app = Sanchika(Settings(**{**demo.settings.__dict__, "passkey_approvals": "required"}),
                   handlers.registry)
    yield app
    app.db.dispose()


def test_an_installation_that_requires_passkeys(strict, users):
    f = file_at_ds(strict, users)
    task = inbox_task(strict, users["ds"], file_id=f["id"])["id"]
    with pytest.raises(InvalidInput, match="requires approvals to be signed with your passkey"):
        strict.act(users["ds"], task, {"action": "approve"})
    draft = strict.create_draft(users["ds"], f["id"], "Reply", "Text.")
    with pytest.raises(InvalidInput, match="passkey"):
        strict.approve_draft(users["ds"], draft["id"])
    device = registered(strict, users["ds"])
    approve_with(strict, users, device, f)
    with strict.db.reader() as s:
        assert s.scalar(select(Passkey.sign_count)) >= 2


def test_server_signatures_are_marked_as_the_fallback(service, users, tmp_path):
    f = file_at_ds(service, users)
    service.act(users["ds"], inbox_task(service, users["ds"], file_id=f["id"])["id"],
                {"action": "approve"})
    report = service.verify_report()
    assert report.problems == []
    assert report.signatures >= 1
    assert f"{report.signatures} server-key signatures (fallback)" in report.summary()
    import io
    import json
    import zipfile

    _, data = service.export_file(users["ds"], f["id"])
    sigs = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("signatures.json"))
    assert sigs[0]["method"] == "server-key (fallback)"


def test_passkey_approvals_are_append_only(service, users):
    from tests.integration.test_audit_tamper import refused

    device = registered(service, users["ds"])
    approve_with(service, users, device, file_at_ds(service, users))
    refused(service, "UPDATE passkey_approvals SET signature = 'x'")
    refused(service, "DELETE FROM passkey_approvals")
