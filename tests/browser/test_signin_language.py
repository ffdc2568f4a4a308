"""Sign-in safety and languages in a real browser: CSRF tokens are required, repeated
failures lock the account for a while, sign-in and sign-off times are recorded, the
session cookie does not authorise the API, and the Hindi UI shows Hindi labels."""

from __future__ import annotations

import requests
from sqlalchemy import update

from engine.store.web_models import SignInThrottle
from tests.browser.steps import go, shot, sign_in_with_form, sign_out, wait_for_js
from tests.conftest import PASSWORD


def test_a_form_posted_without_its_csrf_token_is_refused(page, server):
    sign_in_with_form(page, "clerk")
    go(page, "New file")
    page.fill("#subject", "Annual property returns")
    page.select_option("#head", "11011")
    with page.expect_navigation():
        page.click("form button[type=submit].primary")
    file_id = int(page.url.rsplit("/", 1)[1])
    notes_before = page.locator(".yellow").count()
    token = page.locator("meta[name=csrf-token]").get_attribute("content")

    # The same browser session (cookie sent), but the form lacks its token: refused.
    refused = page.request.post(f"/files/{file_id}/notes", form={"text": "forged note"})
    assert refused.status == 400
    assert "security token" in refused.text()
    wrong = page.request.post(f"/files/{file_id}/notes",
                              form={"text": "forged note", "csrf_token": token[::-1]})
    assert wrong.status == 400
    page.reload()
    assert page.locator(".yellow").count() == notes_before

    # With the page's token the same post works (the check is what refused it).
    ok = page.request.post(f"/files/{file_id}/notes",
                           form={"text": "real note", "csrf_token": token})
    assert ok.status == 200
    page.reload()
    assert page.locator(".yellow").count() == notes_before + 1

    # The session cookie alone does not authorise the API (which takes bearer tokens only).
    api = page.request.post(f"/api/v1/files/{file_id}/notes", data={"text": "via the API"})
    assert api.status == 401
    # A sign-in form without the token is refused too.
    anon = requests.post(f"{server}/login", data={"username": "clerk", "password": PASSWORD},
                         timeout=10)
    assert anon.status_code == 400


def let_delay_pass(demo) -> None:
    """Each wrong password earns a growing delay before the next try (engine/domain/
    throttle.py); the tests do not wait for the clock but mark the delay as run out."""
    with demo.db.transaction() as s:
        s.execute(update(SignInThrottle).values(locked_until=None))


def test_lockout_after_repeated_failures_and_the_sign_in_register(page, server, demo):
    for _ in range(5):
        let_delay_pass(demo)
        page.goto("/login")
        page.fill("#username", "so")
        page.fill("#password", "not-the-password")
        page.click("form button[type=submit]")
        assert "Wrong username or password" in page.locator(".flash.error").inner_text()
    # Locked now: even the right password is refused, and says so.
    page.goto("/login")
    page.fill("#username", "so")
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/login") and
                              r.request.method == "POST") as answer:
        page.click("form button[type=submit]")
    assert answer.value.status == 429
    assert "Too many failed sign-ins" in page.locator(".flash.error").inner_text()
    # Other users are not affected.
    sign_in_with_form(page, "clerk")
    assert page.locator("h1").inner_text().startswith("Inbox")
    sign_out(page)

    # The auditor sees every attempt, and the clerk's sign-off time.
    sign_in_with_form(page, "auditor")
    go(page, "Sign-ins")
    rows = page.locator("tbody tr").all_inner_texts()
    so_rows = [r for r in rows if r.startswith("so")]
    assert sum("wrong password" in r for r in so_rows) == 5
    assert sum("refused: locked" in r for r in so_rows) == 1
    clerk_rows = [r.split("\t") for r in rows if r.startswith("clerk")]
    assert clerk_rows
    assert clerk_rows[0][3].strip() not in ("", "—")
    shot(page, "sign-ins")
    # ...and any file's history, from the file list.
    go(page, "Find files")
    with page.expect_navigation():
        page.locator("tbody tr").first.get_by_text("History").click()
    assert page.locator("ol.history > li").count() >= 3
    sign_out(page)

    # Officers do not see the register.
    sign_in_with_form(page, "clerk")
    assert page.goto("/admin/sign-ins").status == 403


def test_hindi_ui_shows_hindi_labels_and_is_remembered(page, server):
    sign_in_with_form(page, "clerk")
    assert page.locator("nav").inner_text().split()[:1] == ["Inbox"]
    page.click("button[name=lang][value=hi]")
    assert page.locator("html").get_attribute("lang") == "hi"
    assert page.locator("h1").inner_text().startswith("इनबॉक्स")
    nav = page.locator("nav").inner_text()
    for label in ("आवती डायरी करें", "फ़ाइलें खोजें", "डैशबोर्ड", "सूचनाएँ"):
        assert label in nav
    headers = page.locator("table.inbox thead").inner_text()
    assert "विषय" in headers
    assert "नियत तिथि" in headers
    # Devanagari is drawn with the locally served Noto Sans Devanagari.
    wait_for_js(page, "document.fonts.check('16px \"Noto Sans Devanagari\"', 'इनबॉक्स')")
    loaded = page.evaluate("""() => [...document.fonts].filter(
        f => f.family.includes('Noto Sans Devanagari') && f.status === 'loaded').length""")
    assert loaded >= 1
    shot(page, "inbox-hindi")
    page.locator("table.inbox a[href^='/files/']").first.click()
    assert page.locator("#notes-h").inner_text() == "टिप्पणी पृष्ठ"
    assert page.locator("#corr-h").inner_text() == "पत्राचार"
    shot(page, "file-hindi")

    # The choice is stored with the user: a new session starts in Hindi.
    sign_out(page)
    page.context.clear_cookies()
    sign_in_with_form(page, "clerk")
    assert page.locator("h1").inner_text().startswith("इनबॉक्स")
    page.click("button[name=lang][value=en]")
    assert page.locator("h1").inner_text().startswith("Inbox")


def test_the_api_token_endpoint_shares_the_lockout(server, demo):
    url = f"{server}/api/v1/auth/token"
    for _ in range(5):
        let_delay_pass(demo)
        r = requests.post(url, json={"username": "us", "password": "nope-nope"}, timeout=10)
        assert r.status_code == 401
    r = requests.post(url, json={"username": "us", "password": PASSWORD}, timeout=10)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_attempts"
    r = requests.post(url, json={"username": "ds", "password": PASSWORD}, timeout=10)
    assert r.status_code == 200
    assert r.json()["token"]
