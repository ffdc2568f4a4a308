"""One password rule (engine/domain/passwords.py) wherever a user chooses a password: My
settings, the API, and a reset code; each refusal names the reason on the page."""

from __future__ import annotations

import re

import pytest

from engine.errors import InvalidInput
from tests.conftest import PASSWORD
from tests.org_setup import page_client

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.mark.parametrize(("new", "said"), [
    ("short1", "at least 12 characters"),
    ("password1234", "most commonly used"),
    ("aaaaaabbbbbbbbb", "too few different characters"),
    ("so-was-here-2026", "must not contain your username"),
])
def test_settings_page_names_the_rule(web_app, new, said):
    client = page_client(web_app, "so")
    token = CSRF.search(client.get("/settings").get_data(as_text=True)).group(1)
    r = client.post("/settings/password", data={
        "current_password": PASSWORD, "new_password": new, "repeat_password": new,
        "csrf_token": token})
    assert r.status_code == 422
    assert said in r.get_data(as_text=True)


def test_the_same_rule_for_the_api_and_reset_codes(demo, users, api):
    r = api.post("/me/password", "so", json={"old_password": PASSWORD,
                                              "new_password": "welcome12345"})
    assert r.status_code == 422
    assert "commonly used" in r.json()["error"]["message"]
    code = demo.issue_reset_code(users["admin"], "us")["code"]
    with pytest.raises(InvalidInput, match="new_password: too weak: it is a commonly used"):
        demo.redeem_reset_code("us", code, "Password@1234")
    demo.redeem_reset_code("us", code, "Quiet-harbour-lamp-7")
    assert demo.authenticate("us", "Quiet-harbour-lamp-7").username == "us"
