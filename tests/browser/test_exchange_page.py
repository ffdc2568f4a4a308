"""The exchange page in a real browser: an officer sends a file to a post of a partner
installation and sees it listed as sent, waiting for the partner (which is down here)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.browser.steps import shot, sign_in
from tests.conftest import _free_port
from tests.flow import open_file


def test_officer_sends_a_file_to_a_partner(page, server, api, demo):
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    r = api.post("/exchange/partners", "admin", json={
        "name": "secretariat", "url": f"http://127.0.0.1:{_free_port()}", "public_key": key})
    assert r.status_code == 201, r.text
    f = open_file(api, subject="Posting of Tehsildars", head="11012")

    sign_in(page, "clerk")
    page.goto("/exchange")
    form = page.locator("form:has(#file_id)")
    form.locator("#file_id").select_option(str(f["id"]))
    form.locator("#partner").select_option("secretariat")
    form.locator("#post").fill("GAD-EST-SO")
    form.locator("#remark").fill("for orders")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "on its way to secretariat" in page.locator(".flash").first.inner_text()
    row = page.locator(f"tr:has-text('{f['file_no']}')").first
    assert "secretariat" in row.inner_text()
    assert "GAD-EST-SO" in row.inner_text()
    assert "Waiting to be delivered" in row.inner_text()
    shot(page, "exchange")
    # the partner is down: a delivery attempt leaves it waiting, with the reason shown
    assert demo.deliver_exchange() == 0
    page.reload()
    row = page.locator(f"tr:has-text('{f['file_no']}')").first
    assert "Waiting to be delivered" in row.inner_text()
    assert "not reachable" in row.inner_text()
