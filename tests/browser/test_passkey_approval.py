"""`ds` registers a passkey and approves a file with it, in Chromium with a virtual
authenticator (the DevTools protocol's WebAuthn domain: no real device). The export then
verifies offline, and altering the stored assertion makes `sanchika verify` fail naming
the approval.

WebAuthn refuses IP addresses as relying party ids, so the browser uses
http://localhost:<port> (a secure context, like any localhost origin) for the server the
`server` fixture runs on 127.0.0.1."""

from __future__ import annotations

from sqlalchemy import select

from engine.audit.export import check
from engine.store.audit_models import ApprovalSignature, PasskeyApproval
from tests.browser.steps import confirm, sign_in
from tests.browser.test_journey import open_action
from tests.flow import inbox_task
from tests.integration.test_export import verify_export
from tests.integration.test_verify import run_cli
from tests.tamper import tamper


def test_ds_registers_a_passkey_and_approves_a_file(browser, server, demo, users, tmp_path):
    f = demo.open_file(users["clerk"], "Passkey approval in the browser", "11011")
    demo.add_note(users["clerk"], f["id"], "Proposal as per rules.")
    demo.act(users["clerk"], inbox_task(demo, users["clerk"], file_id=f["id"])["id"],
             {"action": "forward", "to": "ds"})

    context = browser.new_context(base_url=server.replace("127.0.0.1", "localhost"),
                                  locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})["authenticatorId"]
    try:
        sign_in(page, "ds")
        page.goto("/settings")
        page.fill("#passkey-name", "Office laptop")
        with page.expect_navigation():
            page.click("#passkey-add")
        assert "Office laptop" in page.locator("#passkey-list").inner_text()
        held = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(held["credentials"]) == 1

        page.goto(f"/files/{f['id']}")
        open_action(page, "approve")
        page.click("#act-approve button[type=submit]")
        confirm(page)  # the passkey signed first; then the usual confirmation
        assert not errors, errors
        assert page.locator(".flash.error").count() == 0
    finally:
        context.close()

    with demo.db.reader() as s:
        row = s.scalar(select(PasskeyApproval).where(PasskeyApproval.file_id == f["id"]))
        assert row is not None
        assert (row.username, row.action, row.rp_id) == ("ds", "approve", "localhost")
        assert s.scalar(select(ApprovalSignature).where(
            ApprovalSignature.file_id == f["id"])) is None  # signed on the device only
    assert demo.file(users["ds"], f["id"])["locked"]

    _, data = demo.export_file(None, f["id"])
    (tmp_path / "export.zip").write_bytes(data)
    assert check(tmp_path / "export.zip")[1] == []
    run = verify_export(tmp_path / "export.zip", tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run_cli(demo.settings, "verify").returncode == 0

    with demo.db.reader() as s:
        client_data = s.scalar(select(PasskeyApproval.client_data_json).where(
            PasskeyApproval.id == row.id))
    altered = client_data[:-2] + ("AA" if not client_data.endswith("AA") else "BB")
    tamper(demo, "UPDATE passkey_approvals SET client_data_json = :v WHERE id = :i",
           ("passkey_approvals",), v=altered, i=row.id)
    run = run_cli(demo.settings, "verify")
    assert run.returncode == 1
    file_no = demo.file(users["ds"], f["id"])["file_no"]
    assert f"passkey approval: file {file_no}: approve by ds at" in run.stdout, run.stdout
