"""Locked out at one address, the user lifts the lock in a real browser with the code sent
to their own e-mail (read here from the outbox row the command wrote; delivery to a real
SMTP server is tests/integration/test_signin_unlock.py), in English and in Hindi."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from engine.store.models import OutboxMessage
from engine.store.web_models import SignInThrottle
from tests.browser.steps import shot, sign_in_with_form, sign_out
from tests.conftest import PASSWORD

CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b")


def test_a_locked_user_lifts_the_lock_with_the_code_sent_to_them(page, server, demo):
    for _ in range(5):
        with demo.db.transaction() as s:  # each delay run out at once, as in the other tests
            s.execute(update(SignInThrottle).values(locked_until=None))
        page.goto("/login")
        page.fill("#username", "us")
        page.fill("#password", "not-the-password")
        page.click("form button[type=submit]")
    page.goto("/login")
    page.fill("#username", "us")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    assert "Too many failed sign-ins" in page.locator(".flash.error").inner_text()

    with page.expect_navigation():
        page.click("#unlock-link")
    assert page.input_value("#u-username") == "us"
    with page.expect_navigation():
        page.click("#unlock-send button[type=submit]")
    assert "an unlock code has been sent" in page.locator(".flash").first.inner_text()
    shot(page, "sign-in-unlock")
    with demo.db.reader() as s:
        bodies = s.scalars(select(OutboxMessage.body).where(
            OutboxMessage.event_key.like("sign_in_unlock_code:%"),
            OutboxMessage.channel == "email")).all()
    [code] = CODE.findall(bodies[-1])
    assert code not in page.content()

    page.fill("#u-code", code)
    with page.expect_navigation():
        page.click("#unlock-redeem button[type=submit]")
    assert "The lock is lifted" in page.locator(".flash").first.inner_text()
    sign_in_with_form(page, "us")
    assert page.locator("h1").inner_text().startswith("Inbox")
    sign_out(page)

    # the same page in Hindi
    page.goto("/login/unlock")
    with page.expect_navigation():
        page.click("button[name=lang][value=hi]")
    page.goto("/login/unlock")
    assert page.locator("h1").inner_text() == "साइन-इन लॉक हटाएँ"
    assert "मुझे अनलॉक कोड भेजें" in page.locator("#unlock-send").inner_text()
