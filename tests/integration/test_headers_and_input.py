"""Security headers on pages, API answers and PDFs; HTML error pages for browser paths
(JSON only under /api/); names, phones and e-mail addresses normalised and checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.domain import contact
from engine.errors import InvalidInput
from engine.store.models import User
from tests.conftest import PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


@pytest.fixture
def client(settings, demo):
    from web.app import create_app

    app = create_app(settings, demo)
    return app.test_client()


def sign_in(client, username: str = "clerk") -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 302


def test_pages_carry_a_strict_policy(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'self'" in csp
    assert "form-action 'self'" in csp
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in r.headers["Permissions-Policy"]
    api = client.get("/api/v1/me")
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["Referrer-Policy"] == "same-origin"


def test_assets_named_by_their_digest_are_cached_for_a_year(client):
    page = client.get("/login").get_data(as_text=True)
    for url in (re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page).group(1),
                re.search(r'src="(/static/app\.js\?v=[0-9a-f]{12})"', page).group(1),
                re.search(r'href="(/vendor/@fontsource/[^"]+/400\.css\?v=[0-9a-f]{12})"',
                          page).group(1)):
        r = client.get(url)
        assert r.status_code == 200
        assert r.cache_control.max_age == 365 * 24 * 3600
        assert r.cache_control.immutable
    # without the digest, or with a stale one, the browser must ask again as before
    for url in ("/static/app.css", "/static/app.css?v=000000000000"):
        r = client.get(url)
        assert r.status_code == 200
        assert not r.cache_control.immutable
        assert (r.cache_control.max_age or 0) <= 3600


def test_templates_have_no_inline_script_or_handlers():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>")
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not inline_script.search(text), template.name
        assert not handler.search(text), template.name
        assert "javascript:" not in text, template.name


def test_browser_paths_get_html_errors_and_the_api_json(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "There is no such page here." in r.get_data(as_text=True)
    r = client.get("/api/v1/no/such/thing")
    assert r.status_code == 404
    assert r.mimetype == "application/json"
    assert r.get_json()["error"]["code"] == "not_found"
    sign_in(client, "clerk")
    r = client.get("/admin/sign-ins")
    assert r.status_code == 403
    assert r.mimetype == "text/html"


def test_server_error_page_for_browsers(client):
    def broken() -> str:
        raise RuntimeError("boom")

    app = client.application
    app.add_url_rule("/broken", "broken", broken)
    app.add_url_rule("/api/v1/broken", "api_broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.get("/broken")
    assert r.status_code == 500
    assert r.mimetype == "text/html"
    assert "Something went wrong on the server" in r.get_data(as_text=True)
    r = client.get("/api/v1/broken")
    assert r.status_code == 500
    assert r.mimetype == "application/json"


def test_names_phones_and_emails():
    assert contact.name("  Meera\t  Joshi ", "full_name") == "Meera Joshi"
    assert contact.name("क्\u200dष", "full_name") == "क्\u200dष"  # joiners kept
    for bad in ("Meera\x00Joshi", "Meera\x1b[31m", "A\u202eB", "A\u2028B"):
        with pytest.raises(InvalidInput, match="full_name: contains a control"):
            contact.name(bad, "full_name")
    assert contact.phone("98765 43210") == "+919876543210"
    assert contact.phone("+1 (202) 555-0143") == "+12025550143"
    assert contact.phone("0091-98765-43210") == "+919876543210"
    for bad in ("12345", "+91 98765\n43210", "call me", "+0123456789"):
        with pytest.raises(InvalidInput, match="phone:"):
            contact.phone(bad)
    assert contact.email(" Meera@GAD.Example.gov.in ") == "Meera@gad.example.gov.in"
    for bad in ("meera", "meera@", "me era@x.in", "meera@x.in\r\nBcc: y@z.in", "a@b"):
        with pytest.raises(InvalidInput, match="email:"):
            contact.email(bad)


def test_control_characters_refused_through_the_api(api, demo):
    r = api.post("/admin/users", "admin", json={
        "username": "newbie", "full_name": "New\x07Person", "password": "long-pass-1"})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("full_name:")
    r = api.post("/admin/users", "admin", json={
        "username": "newbie", "full_name": "New Person", "password": "long-pass-1",
        "phone": "+91 98765\x0043210"})
    assert r.status_code == 422
    assert "phone" in r.json()["error"]["message"]
    r = api.post("/admin/users", "admin", json={
        "username": "newbie", "full_name": "  New   Person ", "password": "long-pass-1",
        "phone": "98765-43210", "email": "new@GAD.example.gov.in"})
    assert r.status_code == 201, r.text
    assert r.json()["full_name"] == "New Person"
    with demo.db.reader() as s:
        user = s.scalar(select(User).where(User.username == "newbie"))
        assert (user.phone, user.email) == ("+919876543210", "new@gad.example.gov.in")
    r = api.post("/receipts", "clerk", json={"sender": "Director\x1b, Treasury",
                                             "subject": "x", "mode": "post"})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("sender:")
