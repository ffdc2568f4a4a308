"""Sessions end on the server: a replayed cookie after sign-off is refused, and a password
change, reset or deactivation ends every web session and API token of the user."""

from __future__ import annotations

import re
from datetime import timedelta

import requests
from sqlalchemy import update

from engine.store.models import utcnow
from engine.store.web_models import ApiToken
from tests.conftest import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_sign_in(server: str, username: str, password: str = PASSWORD) -> requests.Session:
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{server}/login", timeout=10).text).group(1)
    r = browser.post(f"{server}/login", data={"username": username, "password": password,
                                              "csrf_token": token},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return browser


def signed_in(server: str, cookies: dict) -> bool:
    """Does this cookie open the inbox (rather than redirecting to the sign-in page)?"""
    r = requests.get(f"{server}/", cookies=cookies, allow_redirects=False, timeout=10)
    return r.status_code == 200


def sign_off(server: str, browser: requests.Session) -> None:
    token = CSRF.search(browser.get(f"{server}/", timeout=10).text).group(1)
    r = browser.post(f"{server}/logout", data={"csrf_token": token}, allow_redirects=False,
                     timeout=10)
    assert r.status_code == 302


def test_replayed_cookie_after_sign_off_is_refused(server):
    browser = web_sign_in(server, "clerk")
    stolen = browser.cookies.get_dict()
    assert signed_in(server, stolen)
    sign_off(server, browser)
    assert not signed_in(server, stolen)
    # a new sign-in is a new session; the old cookie stays dead
    again = web_sign_in(server, "clerk")
    assert signed_in(server, again.cookies.get_dict())
    assert not signed_in(server, stolen)


def test_password_change_ends_every_session_and_token(server, api):
    web = web_sign_in(server, "so").cookies.get_dict()
    other_token = api.login("so")
    api.login("so")
    r = api.post("/me/password", "so", json={"old_password": "wrong",
                                              "new_password": "Better-pass-2026"})
    assert r.status_code == 422
    assert "old_password" in r.json()["error"]["message"]
    r = api.post("/me/password", "so", json={"old_password": PASSWORD,
                                              "new_password": "new-pass-2026"})
    assert r.status_code == 204, r.text
    assert not signed_in(server, web)
    assert api.get("/me", "so").status_code == 401
    r = requests.get(f"{server}/api/v1/me", headers={"Authorization": f"Bearer {other_token}"},
                     timeout=10)
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]["message"]
    assert signed_in(server, web_sign_in(server, "so", "new-pass-2026").cookies.get_dict())


def test_reset_and_deactivation_end_sessions(server, api):
    web = web_sign_in(server, "us").cookies.get_dict()
    api.login("us")
    assert api.post("/admin/users/us/reset-password", "clerk",
                    json={"password": "reset-pass-1"}).status_code == 403
    assert signed_in(server, web)
    r = api.post("/admin/users/us/reset-password", "admin", json={"password": "reset-pass-1"})
    assert r.status_code == 204, r.text
    assert not signed_in(server, web)
    assert api.get("/me", "us").status_code == 401
    web = web_sign_in(server, "us", "reset-pass-1").cookies.get_dict()
    api.login("us", "reset-pass-1")
    r = api.post("/admin/users/us/deactivate", "admin")
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert not signed_in(server, web)
    assert api.get("/me", "us").status_code == 401


def test_tokens_expire_and_can_be_revoked(server, api, demo):
    token = api.login("ds")
    assert api.get("/me", "ds").status_code == 200
    assert api.call("DELETE", "/auth/token", "ds").status_code == 204
    r = api.get("/me", "ds")
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]["message"]
    token = api.login("ds")
    assert token.startswith("snk_")
    with demo.db.transaction() as s:  # the clock moves past the token's life
        s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = api.get("/me", "ds")
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]
    # sign off everywhere: every token and web session of mine
    web = web_sign_in(server, "ds").cookies.get_dict()
    api.login("ds")
    assert api.post("/auth/sign-off-everywhere", "ds").status_code == 204
    assert not signed_in(server, web)
    assert api.get("/me", "ds").status_code == 401


def test_idle_session_ends(settings, demo):
    """The session cookie is refused once older than the idle limit (Flask checks the
    signature's age), without any clock sleeping: the signing time is set back."""
    from itsdangerous import TimestampSigner

    from web.app import create_app

    app = create_app(settings, demo)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "clerk", "password": PASSWORD,
                                "csrf_token": CSRF.search(page).group(1)})
    assert client.get("/").status_code == 200
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(cookie)
    idle = app.permanent_session_lifetime.total_seconds()

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(super().get_timestamp() - idle - 5)

    serializer.signer = Past
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], serializer.dumps(data))
    assert client.get("/").status_code == 302
