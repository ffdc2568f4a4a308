"""Steps the browser tests share: signing in and out, confirming actions, screenshots."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from tests.conftest import PASSWORD

# a run with SANCHIKA_SCREENSHOTS=1 writes here (not into git); the README's pictures are
# copies in docs/screenshots/ (docs/development.md says how to refresh them)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot of a main page (build/screenshots/), when SANCHIKA_SCREENSHOTS=1 asks:
    the pictures assert nothing, and taking them costs a few seconds of every run."""
    if os.environ.get("SANCHIKA_SCREENSHOTS", "") in ("", "0"):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in with the sign-in form posted by the page's own request client (the same
    cookies), then open the page it leads to: for the tests not about signing in, this
    spares rendering the sign-in page. The tests about it use sign_in_with_form."""
    form = page.request.get("/login").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = page.request.post("/login", max_redirects=0, form={
        "username": username, "password": password, "csrf_token": token})
    assert answer.status == 302, f"{username} could not sign in: {answer.status}"
    page.goto(answer.headers["location"])


def sign_in_with_form(page, username: str, password: str = PASSWORD) -> None:
    """Sign in as a person does: open the sign-in page, type, submit."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def sign_out(page) -> None:
    with page.expect_navigation():
        page.click("header button:has-text('Sign out'), header button:has-text('बाहर निकलें')")


def confirm(page) -> None:
    """Accept the confirmation dialog of a one-click action."""
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    with page.expect_navigation():
        page.click("#confirm-ok")


def go(page, label: str) -> None:
    """Follow a link of the main navigation and wait for the new page."""
    with page.expect_navigation():
        page.click(f"nav >> text={label}")


def wait_for_js(page, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression until it is true, with a deadline. (Playwright's
    wait_for_function builds a function from text in the page, which the pages' strict
    Content-Security-Policy refuses; page.evaluate goes through the DevTools protocol.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)
