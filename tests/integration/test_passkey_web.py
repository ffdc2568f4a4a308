"""Passkeys through the Flask test client: registering on My settings (the JSON the page's
script calls), approving a file with the assertion in the approve form, revoking; and the
API (listed, revoked, a challenge, an approval signed over the API), each response checked
against the OpenAPI document."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.domain.files import content_hash, get_file
from engine.store.audit_models import PasskeyApproval
from tests.clients import AppClient
from tests.flow import act, open_file, task_for
from tests.integration.test_api_responses import check, spec  # noqa: F401 (a fixture)
from tests.integration.test_headers_and_input import sign_in
from tests.passkey_device import Device

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(web_app):
    return web_app.test_client()


def file_with_ds(api: AppClient, subject: str = "Passkey page file") -> dict:
    f = open_file(api, "clerk", subject=subject)
    act(api, "clerk", task_for(api, "clerk", file_id=f["id"])["id"], action="forward", to="ds")
    return f


def csrf(client, path: str = "/settings") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def register_on_page(client, device: Device, name: str = "office laptop") -> dict:
    token = csrf(client)
    r = client.post("/settings/passkeys/options", headers={"X-CSRFToken": token}, json={})
    assert r.status_code == 200, r.get_data(as_text=True)
    options = r.get_json()
    r = client.post("/settings/passkeys", headers={"X-CSRFToken": token},
                    json={"nonce": options["nonce"], "name": name,
                          "credential": device.register(options)})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def test_register_on_settings_and_approve_on_the_file_page(client, api, demo):
    f = file_with_ds(api)
    sign_in(client, "ds")
    page = client.get("/settings").get_data(as_text=True)
    assert "Register a passkey" in page
    assert "You have no passkey yet." in page
    device = Device()
    key = register_on_page(client, device)
    assert key["name"] == "office laptop"
    assert "office laptop" in client.get("/settings").get_data(as_text=True)

    task = task_for(api, "ds", file_id=f["id"])["id"]
    page = client.get(f"/files/{f['id']}").get_data(as_text=True)
    assert f'data-passkey="/tasks/{task}/passkey-options"' in page
    token = TOKEN.search(page).group(1)
    r = client.post(f"/tasks/{task}/passkey-options", headers={"X-CSRFToken": token}, json={})
    options = r.get_json()
    assert options["passkeys"] == 1
    assertion = device.approval(options)
    form = {"csrf_token": token, "action": "approve", "confirmed": "1",
            "passkey": json.dumps({"nonce": assertion["nonce"],
                                   "credential": assertion["credential"]})}
    r = client.post(f"/tasks/{task}", data=form)
    assert r.status_code == 302
    with demo.db.reader() as s:
        row = s.scalar(select(PasskeyApproval).where(PasskeyApproval.file_id == f["id"]))
        assert row.username == "ds"
        assert row.rp_id == "localhost"
    assert demo.verify_report().problems == []
    assert "signed with a passkey" in client.get(f"/files/{f['id']}").get_data(as_text=True)


def test_an_approval_without_a_passkey_is_marked_as_the_fallback(client, api):
    f = file_with_ds(api)
    act(api, "ds", task_for(api, "ds", file_id=f["id"])["id"], action="approve")
    sign_in(client, "ds")
    page = client.get(f"/files/{f['id']}").get_data(as_text=True)
    assert "signed by the server (fallback)" in page
    assert "signed with a passkey" not in page


def test_a_draft_approved_on_the_file_page_with_a_passkey(client, api, demo, users):
    f = file_with_ds(api)
    draft = demo.create_draft(users["ds"], f["id"], "Reply", "Sir, as proposed.")
    sign_in(client, "ds")
    device = Device()
    register_on_page(client, device)
    page = client.get(f"/files/{f['id']}").get_data(as_text=True)
    assert f'data-passkey="/drafts/{draft["id"]}/passkey-options"' in page
    token = TOKEN.search(page).group(1)
    options = client.post(f"/drafts/{draft['id']}/passkey-options",
                          headers={"X-CSRFToken": token}, json={}).get_json()
    r = client.post(f"/drafts/{draft['id']}/approve", data={
        "csrf_token": token, "confirmed": "1",
        "passkey": json.dumps(device.approval(options))})
    assert r.status_code == 302
    assert demo.draft(users["ds"], draft["id"])["status"] == "approved"
    page = client.get(f"/files/{f['id']}").get_data(as_text=True)
    assert "signed with a passkey" in page
    assert demo.verify_report().problems == []


def test_a_forged_assertion_is_refused_and_nothing_changes(client, api, demo):
    f = file_with_ds(api)
    sign_in(client, "ds")
    device = Device()
    register_on_page(client, device)
    task = task_for(api, "ds", file_id=f["id"])["id"]
    token = csrf(client, f"/files/{f['id']}")
    options = client.post(f"/tasks/{task}/passkey-options", headers={"X-CSRFToken": token},
                          json={}).get_json()
    assertion = device.approval(options)
    assertion["credential"]["response"]["signature"] = Device().sign(options)["response"][
        "signature"]
    r = client.post(f"/tasks/{task}", data={
        "csrf_token": token, "action": "approve", "confirmed": "1",
        "passkey": json.dumps(assertion), "next": f"/files/{f['id']}"})
    assert r.status_code == 302
    flashed = client.get(f"/files/{f['id']}").get_data(as_text=True)
    assert "does not verify for this approval" in flashed
    assert task_for(api, "ds", file_id=f["id"])["id"] == task  # still open


def test_passkey_options_need_the_csrf_token_and_the_task(client, api):
    f = file_with_ds(api)
    sign_in(client, "so")
    task = task_for(api, "ds", file_id=f["id"])["id"]
    assert client.post(f"/tasks/{task}/passkey-options", json={}).status_code == 400
    token = csrf(client)
    r = client.post(f"/tasks/{task}/passkey-options", headers={"X-CSRFToken": token}, json={})
    assert r.status_code == 403
    assert "not in your inbox" in r.get_json()["error"]["message"]


def test_revoke_on_the_settings_page(client, demo, users):
    sign_in(client, "ds")
    key = register_on_page(client, Device())
    r = client.post(f"/settings/passkeys/{key['id']}/revoke",
                    data={"csrf_token": csrf(client), "confirmed": "1"})
    assert r.status_code == 302
    page = client.get("/settings").get_data(as_text=True)
    assert "revoked" in page
    assert demo.my_passkeys(users["ds"])[0]["active"] is False


def test_the_api_lists_revokes_and_approves_with_a_passkey(api, demo, users, spec):  # noqa: F811
    device = Device()
    options = demo.passkey_registration_options(users["ds"], "http://localhost")
    demo.register_passkey(users["ds"], device.register(options), options["nonce"],
                          "http://localhost", "key")

    def call(method: str, url: str, user: str, status: int, **kw):
        r = api.call(method, url, user, **kw)
        assert r.status_code == status, r.text
        check(spec, r, method, url)
        return r.json()

    listed = call("GET", "/passkeys", "ds", 200)
    assert [k["name"] for k in listed] == ["key"]
    assert call("GET", "/passkeys", "so", 200) == []
    f = file_with_ds(api, "API passkey file")
    task = task_for(api, "ds", file_id=f["id"])["id"]
    challenge = call("GET", f"/tasks/{task}/passkey-challenge", "ds", 200)
    with demo.db.reader() as s:
        assert challenge["content_hash"] == content_hash(s, get_file(s, f["id"]))
    call("GET", f"/tasks/{task}/passkey-challenge", "so", 403)
    assertion = device.approval(challenge)
    call("POST", f"/tasks/{task}", "ds", 422, json={"action": "approve", "passkey": {
        "nonce": "1.2.3", "credential": assertion["credential"]}})
    call("POST", f"/tasks/{task}", "ds", 200, json={"action": "approve", "passkey": {
        "nonce": assertion["nonce"], "credential": assertion["credential"]}})
    assert demo.verify_report().problems == []
    call("POST", f"/passkeys/{listed[0]['id']}/revoke", "so", 404)
    revoked = call("POST", f"/passkeys/{listed[0]['id']}/revoke", "ds", 200)
    assert revoked["active"] is False


def test_a_draft_approved_over_the_api_with_a_passkey(api, demo, users, spec):  # noqa: F811
    device = Device()
    options = demo.passkey_registration_options(users["ds"], "http://localhost")
    demo.register_passkey(users["ds"], device.register(options), options["nonce"],
                          "http://localhost", "key")
    f = file_with_ds(api, "API draft file")
    draft = demo.create_draft(users["ds"], f["id"], "Reply", "Sir, as proposed.")
    r = api.get(f"/drafts/{draft['id']}/passkey-challenge", "ds")
    check(spec, r, "GET", f"/drafts/{draft['id']}/passkey-challenge")
    assertion = device.approval(r.json())
    r = api.post(f"/drafts/{draft['id']}/approve", "ds", json={"passkey": {
        "nonce": assertion["nonce"], "credential": assertion["credential"]}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
