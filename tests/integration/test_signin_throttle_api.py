"""Sign-in throttling over HTTP: a 429 says when to retry (Retry-After), and an
administrator lifts a user's lock through the API."""

from __future__ import annotations

from tests.clients import Reply
from tests.conftest import PASSWORD


def token(api, username: str, password: str) -> Reply:
    return api.request("POST", "/api/v1/auth/token",
                       json={"username": username, "password": password})


def test_retry_after_and_admin_unlock(api, clock):
    # the clock stands still, so the delay cannot run out while the test runs
    for n in range(3):  # the third failure earns a delay
        assert token(api, "us", f"guess-{n}").status_code == 401
    r = token(api, "us", PASSWORD)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    assert "try again after" in r.json()["error"]["message"]
    assert api.post("/admin/users/us/unlock", "clerk").status_code == 403
    r = api.post("/admin/users/us/unlock", "admin")
    assert r.status_code == 200
    assert r.json()["lifted"] >= 1
    assert token(api, "us", PASSWORD).status_code == 200
