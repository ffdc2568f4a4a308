"""A user lifts the sign-in lock on their username with a one-time code sent to their own
e-mail (delivered by the outbox to a real SMTP server, aiosmtpd), never shown in the
answer; the code works once, from the locked address only, for a limited time and a few
tries. The clock is the test's (tests/clock.py), so nothing waits."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.notify.delivery import Deliverer
from engine.store.models import OutboxMessage
from tests.conftest import PASSWORD

ADDRESS = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Mailbox:
    """aiosmtpd handler: every message it accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd names it
        with self.lock:
            self.received.append(email.message_from_bytes(envelope.content,
                                                          policy=email.policy.default))
        return "250 accepted"


@pytest.fixture
def mailbox():
    handler = Mailbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{port}"
    yield handler
    controller.stop()


@pytest.fixture
def settings(settings, mailbox):
    return dataclasses.replace(settings, smtp_url=mailbox.url)


def call(api, path: str, address: str = ADDRESS, **body):
    return api.request("POST", f"/api/v1{path}", json=body,
                       environ_base={"REMOTE_ADDR": address})


def lock_out(api, clock, username: str, address: str = ADDRESS) -> None:
    """Five wrong passwords, each after the delay the one before earned: the pair is
    locked for 5 minutes."""
    for n in range(5):
        clock.advance(10)
        r = call(api, "/auth/token", address, username=username, password=f"guess-{n}")
        assert r.status_code == 401, r.text
    r = call(api, "/auth/token", address, username=username, password=PASSWORD)
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) > 200


def codes_mailed(demo, mailbox, to: str) -> list[str]:
    Deliverer(demo.db, demo.settings).deliver_due(limit=100)
    found = []
    for message in mailbox.received:
        if to in message["To"] and "unlock code" in message["Subject"]:
            found += CODE.findall(message.get_body(("plain",)).get_content())
    return found


def test_the_user_lifts_the_lock_with_a_code_sent_by_mail(demo, users, api, mailbox, clock):
    us = users["us"]
    lock_out(api, clock, "us")
    asked = call(api, "/auth/unlock-code", username="us")
    assert asked.status_code == 202
    assert "unlock code has been sent" in asked.json()["message"]
    [code] = codes_mailed(demo, mailbox, us.email)
    assert code not in asked.text
    with demo.db.reader() as s:  # e-mail and SMS only: not the in-app inbox
        channels = {m.channel for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.event_key.like("sign_in_unlock_code:%")))}
        assert channels == {"email", "sms"}
        assert all(m.params is None for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.event_key.like("sign_in_unlock_code:%"))))

    # bound to the address it was asked from; a wrong code is refused
    assert call(api, "/auth/unlock", ELSEWHERE, username="us", code=code).status_code == 401
    assert call(api, "/auth/unlock", username="us", code="AAAA-AAAA").status_code == 401
    assert call(api, "/auth/token", username="us", password=PASSWORD).status_code == 429
    r = call(api, "/auth/unlock", username="us", code=code.lower().replace("-", " "))
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "us", "address": ADDRESS, "lifted": True}
    assert call(api, "/auth/token", username="us", password=PASSWORD).status_code == 200
    # once only
    assert call(api, "/auth/unlock", username="us", code=code).status_code == 401
    audit = api.get("/admin/audit", "admin").json()
    assert any(e["kind"] == "sign_in_unlocked_by_code" for e in audit), audit


def test_codes_tell_a_guesser_nothing_and_cannot_be_guessed(demo, users, api, mailbox,
                                                             clock):
    us = users["us"]
    same = call(api, "/auth/unlock-code", username="us").json()  # not locked: nothing sent
    for name in ("nobody-here", "us"):
        r = call(api, "/auth/unlock-code", username=name)
        assert (r.status_code, r.json()["message"]) == (202, same["message"])
    assert codes_mailed(demo, mailbox, us.email) == []

    lock_out(api, clock, "us")
    call(api, "/auth/unlock-code", username="us")
    call(api, "/auth/unlock-code", username="us")  # within a minute: no second code
    [first] = codes_mailed(demo, mailbox, us.email)
    clock.advance(61)
    call(api, "/auth/unlock-code", username="us")
    second = codes_mailed(demo, mailbox, us.email)[-1]
    assert second != first
    # a newer code replaces the older
    assert call(api, "/auth/unlock", username="us", code=first).status_code == 401
    # five wrong tries spend the code
    for _ in range(5):
        assert call(api, "/auth/unlock", username="us", code="ZZZZ-ZZZZ").status_code == 401
    assert call(api, "/auth/unlock", username="us", code=second).status_code == 401

    # a fresh code (the pair is still locked) expires after 15 minutes
    clock.advance(61)
    call(api, "/auth/unlock-code", username="us")
    third = codes_mailed(demo, mailbox, us.email)[-1]
    clock.advance(15 * 60 + 1)
    assert call(api, "/auth/unlock", username="us", code=third).status_code == 401
    r = call(api, "/auth/unlock", username="us", code="")
    assert r.status_code == 422


def test_the_sign_in_page_offers_the_code_in_hindi_and_english(demo, users, web_app, mailbox,
                                                               clock):
    client = web_app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    for _ in range(5):
        clock.advance(10)
        r = client.post("/login", data={"username": "ds", "password": "wrong-guess",
                                        "csrf_token": token})
    r = client.post("/login", data={"username": "ds", "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 429
    assert "/login/unlock?username=ds" in r.get_data(as_text=True)

    page = client.get("/login/unlock?username=ds").get_data(as_text=True)
    assert "Send me an unlock code" in page
    r = client.post("/login/unlock", data={"username": "ds", "action": "send",
                                           "csrf_token": token})
    assert r.status_code == 200
    assert "an unlock code has been sent to it" in r.get_data(as_text=True)
    [code] = codes_mailed(demo, mailbox, users["ds"].email)
    assert code not in r.get_data(as_text=True)
    r = client.post("/login/unlock", data={"username": "ds", "action": "unlock",
                                           "code": "WRONG-CODE", "csrf_token": token})
    assert r.status_code == 401
    assert "wrong, expired or already used" in r.get_data(as_text=True)
    r = client.post("/login/unlock", data={"username": "ds", "action": "unlock",
                                           "code": code, "csrf_token": token})
    assert r.status_code == 302
    r = client.post("/login", data={"username": "ds", "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 302

    hindi = web_app.test_client()
    token = CSRF.search(hindi.get("/login").get_data(as_text=True)).group(1)
    hindi.post("/language", data={"lang": "hi", "csrf_token": token})
    page = hindi.get("/login/unlock").get_data(as_text=True)
    assert "मुझे अनलॉक कोड भेजें" in page
    assert "साइन-इन लॉक हटाएँ" in page
