"""Outbox delivery against real components: an aiosmtpd SMTP server and a real HTTP SMS
gateway on 127.0.0.1, the real service and database (SQLite, or PostgreSQL when
SANCHIKA_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import socket
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from engine.errors import ActionNotAllowed
from engine.notify import outbox
from engine.notify.delivery import INTERRUPTED, NOT_CONFIGURED, Deliverer
from engine.read import views
from engine.store.db import Database
from engine.store.models import OutboxMessage, User, utcnow
from tests.flow import inbox_task

HINDI_SUBJECT = "वार्षिक अवकाश नियमावली में संशोधन"
HINDI_BODY = "फ़ाइल आपको भेजी गई है। कृपया आदेश दें — धन्यवाद।"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- real SMTP server


class SmtpRecorder:
    """aiosmtpd handler: keeps every message it accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd names it
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append({"mail_from": envelope.mail_from,
                                  "rcpt_tos": list(envelope.rcpt_tos), "message": parsed})
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


@pytest.fixture
def smtp_server():
    handler = SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


# ---------------------------------------------------------------- real SMS gateway


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.lock = threading.Lock()
        self.received: list[dict] = []  # accepted messages
        self.keys: list[str] = []  # their Idempotency-Key headers
        self.requests = 0
        self.fail_next = 0  # answer 500 to this many requests
        self.always_fail = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sms"

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.keys.clear()
            self.requests = 0


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        gw = self.server
        with gw.lock:
            gw.requests += 1
            failing = gw.always_fail or gw.fail_next > 0
            if gw.fail_next > 0:
                gw.fail_next -= 1
            if not failing:
                gw.received.append(json.loads(data.decode("utf-8")))
                gw.keys.append(self.headers.get("Idempotency-Key") or "")
        body = b'{"error": "gateway overloaded"}' if failing else b'{"status": "queued"}'
        self.send_response(500 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def gateway():
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# ---------------------------------------------------------------- the service


@pytest.fixture
def settings(settings, smtp_server, gateway):
    """conftest's settings (SQLite or PostgreSQL) plus SANCHIKA_SMTP_URL / SANCHIKA_SMS_URL;
    conftest's service, demo and users fixtures build on this one."""
    return dataclasses.replace(settings, smtp_url=smtp_server.url, sms_url=gateway.url)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deliverer(demo, clock) -> Deliverer:
    return Deliverer(demo.db, demo.settings, clock=clock)


@pytest.fixture
def drained(demo, deliverer, smtp_server, gateway):
    """The demo's own notifications delivered and forgotten: tests see only theirs."""
    deliverer.deliver_due(limit=1000)
    assert pending_rows(demo) == []
    smtp_server.clear()
    gateway.clear()
    return demo


def rows(app, **where) -> list[OutboxMessage]:
    with app.db.reader() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list(s.scalars(query))


def pending_rows(app) -> list[OutboxMessage]:
    return [r for r in rows(app) if r.status not in ("sent", "failed")]


def forward_file(app, users, subject: str = "Pay fixation of Junior Assistants") -> dict:
    """A real event: the clerk opens a file and forwards it to the Section Officer."""
    clerk = users["clerk"]
    file = app.open_file(clerk, subject, "11011")
    task = inbox_task(app, clerk, file_id=file["id"])
    app.act(clerk, task["id"], {"action": "forward", "to": "so", "note": "Put up."})
    return file


def messages_to(smtp_server, address: str) -> list:
    return [r["message"] for r in smtp_server.received if address in r["rcpt_tos"]]


# ---------------------------------------------------------------- cases


def test_every_message_is_delivered_exactly_once(demo, users, deliverer, smtp_server, gateway):
    file = forward_file(demo, users)
    email_rows, sms_rows = rows(demo, channel="email"), rows(demo, channel="sms")
    assert email_rows
    assert sms_rows
    assert all(r.status == "pending" and r.attempts == 0 for r in email_rows + sms_rows)

    first = deliverer.deliver_due()
    second = deliverer.deliver_due()

    assert first["sent"] == len(email_rows) + len(sms_rows)
    assert second["sent"] == 0
    assert second["retrying"] == 0
    assert len(smtp_server.received) == len(email_rows)
    ids = [r["message"]["Message-ID"] for r in smtp_server.received]
    assert len(set(ids)) == len(ids)
    assert len(gateway.received) == len(sms_rows)
    assert len(set(gateway.keys)) == len(gateway.keys) == len(sms_rows)
    for row in rows(demo, channel="email") + rows(demo, channel="sms"):
        assert (row.status, row.attempts, row.next_attempt_at) == ("sent", 1, None)
        assert row.sent_at is not None

    so = users["so"]
    mail = [m for m in messages_to(smtp_server, so.email) if file["file_no"] in m["Subject"]]
    assert len(mail) == 1
    assert mail[0]["From"] == "Sanchika <noreply@sanchika.local>"
    assert mail[0]["To"] == so.email
    assert mail[0]["Subject"] == f"{file['file_no']} received"
    assert "was sent to you by clerk (forwarded)" in mail[0].get_content()
    assert smtp_server.received[0]["mail_from"] == "noreply@sanchika.local"
    sms = [m for m in gateway.received if file["file_no"] in m["text"]]
    assert sms == [{"to": "+919000000002", "text": sms[0]["text"]}]
    assert so.phone == "+919000000002"


def test_hindi_subject_and_body_arrive_intact(drained, users, deliverer, smtp_server, gateway):
    file = forward_file(drained, users, subject=HINDI_SUBJECT)
    so = users["so"]
    with drained.db.transaction() as s:
        outbox.notify(s, "test:hindi", [s.get(User, so.id)], HINDI_SUBJECT, HINDI_BODY)

    assert deliverer.deliver_due()["sent"] == 4

    mails = messages_to(smtp_server, so.email)
    forwarded = next(m for m in mails if m["Subject"] == f"{file['file_no']} received")
    assert f"({HINDI_SUBJECT})" in forwarded.get_content()
    direct = next(m for m in mails if m["Subject"] == HINDI_SUBJECT)
    assert direct.get_content().strip() == HINDI_BODY
    assert direct.get_content_charset() == "utf-8"
    texts = [m["text"] for m in gateway.received]
    assert f"{HINDI_SUBJECT}\n{HINDI_BODY}" in texts
    assert any(HINDI_SUBJECT in t and file["file_no"] in t for t in texts)


def test_sms_gateway_failing_twice_then_recovering(drained, users, deliverer, clock, gateway):
    gateway.fail_next = 2
    forward_file(drained, users)
    [sms] = rows(drained, channel="sms", status="pending")

    counts = deliverer.deliver_due()
    assert (counts["sent"], counts["retrying"]) == (1, 1)  # the e-mail went, the SMS did not
    row = rows(drained, id=sms.id)[0]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == 'SMS gateway answered HTTP 500: {"error": "gateway overloaded"}'
    assert row.next_attempt_at == clock.now + timedelta(seconds=30)

    # backoff respected: nothing is tried before it is due
    assert deliverer.deliver_due()["retrying"] == 0
    clock.advance(29)
    assert deliverer.deliver_due()["retrying"] == 0
    assert gateway.requests == 1
    clock.advance(1)
    assert deliverer.deliver_due()["retrying"] == 1  # second failure
    row = rows(drained, id=sms.id)[0]
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now + timedelta(seconds=60)  # doubled
    clock.advance(59)
    assert deliverer.deliver_due()["sent"] == 0
    clock.advance(1)
    assert deliverer.deliver_due()["sent"] == 1
    assert deliverer.deliver_due()["sent"] == 0

    assert gateway.requests == 3
    assert len(gateway.received) == 1
    assert gateway.received[0]["to"] == users["so"].phone
    row = rows(drained, id=sms.id)[0]
    assert (row.status, row.attempts, row.next_attempt_at) == ("sent", 3, None)
    assert row.sent_at is not None
    assert "HTTP 500" in row.last_error  # the history of the retries stays readable


def test_gateway_always_failing_ends_failed_and_kept(drained, users, deliverer, clock, gateway):
    gateway.always_fail = True
    forward_file(drained, users)
    [sms] = rows(drained, channel="sms", status="pending")

    outcomes = []
    for _ in range(deliverer.max_attempts + 3):
        counts = deliverer.deliver_due()
        outcomes.append("failed" if counts["failed"] else "retrying" if counts["retrying"]
                        else None)
        clock.advance(deliverer.backoff_cap)
    assert outcomes == ["retrying"] * 7 + ["failed"] + [None] * 3
    assert gateway.requests == deliverer.max_attempts == 8
    row = rows(drained, id=sms.id)[0]
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 8, None)
    assert row.last_error.startswith("SMS gateway answered HTTP 500")
    assert deliverer.summary()["sms"]["failed"] == 1

    # an operator can put it back once the gateway works again; it goes out once
    gateway.always_fail = False
    assert deliverer.requeue_failed([sms.id]) == 1
    assert deliverer.deliver_due()["sent"] == 1
    assert deliverer.deliver_due()["sent"] == 0
    assert len(gateway.received) == 1
    assert rows(drained, id=sms.id)[0].status == "sent"


def test_rolled_back_action_leaves_no_outbox_row(drained, users, deliverer, smtp_server,
                                                 gateway, monkeypatch):
    clerk = users["clerk"]
    file = drained.open_file(clerk, "Rollback check", "11011")
    task = inbox_task(drained, clerk, file_id=file["id"])
    before = len(rows(drained))

    # 422: an action the task does not allow
    with pytest.raises(ActionNotAllowed):
        drained.act(clerk, task["id"], {"action": "approve"})
    # a failure after the notifications were written and flushed (the response is built
    # inside the transaction): the whole action, outbox rows included, rolls back
    written = []
    real_notify = outbox.notify

    def spy(session, event_key, *args, **kwargs):
        real_notify(session, event_key, *args, **kwargs)
        session.flush()
        written.append(event_key)

    def boom(*args, **kwargs):
        raise RuntimeError("failure after the outbox write")

    with monkeypatch.context() as m:
        m.setattr(outbox, "notify", spy)
        m.setattr(views, "task_row", boom)
        with pytest.raises(RuntimeError):
            drained.act(clerk, task["id"], {"action": "forward", "to": "so"})
    assert len(written) == 1  # the rows were written, then rolled back with the action
    # and a transaction that notifies and then fails
    def notify_then_fail() -> None:
        with drained.db.transaction() as s:
            outbox.notify(s, "test:rolled-back", [s.get(User, users["so"].id)], "x", "y")
            s.flush()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        notify_then_fail()

    assert len(rows(drained)) == before
    assert deliverer.deliver_due()["sent"] == 0
    assert smtp_server.received == []
    assert gateway.received == []

    # the same action committed notifies exactly once per channel
    drained.act(clerk, task["id"], {"action": "forward", "to": "so"})
    assert {r.channel for r in rows(drained)[before:]} == {"app", "email", "sms"}
    assert deliverer.deliver_due()["sent"] == 2
    assert len(smtp_server.received) == len(gateway.received) == 1


def test_two_workers_deliver_each_message_once(drained, users, smtp_server, gateway):
    with drained.db.transaction() as s:
        officers = list(s.scalars(select(User).where(User.phone.is_not(None))))
        for n in range(30):
            outbox.notify(s, f"test:concurrent:{n}", officers, f"Message {n}", f"Body {n}")
    total = len(pending_rows(drained))
    assert total == 30 * len(officers) * 2

    dbs = [Database(drained.settings.database_url) for _ in range(2)]
    workers = [Deliverer(db, drained.settings) for db in dbs]
    barrier = threading.Barrier(len(workers))
    results: list[dict] = []
    errors: list[BaseException] = []

    def run(worker: Deliverer) -> None:
        try:
            barrier.wait()
            results.append(worker.deliver_due(limit=1000))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for db in dbs:
            db.dispose()

    assert errors == []
    assert sum(r["sent"] for r in results) == total
    assert all(r["sent"] for r in results)  # both really took part
    assert len(smtp_server.received) + len(gateway.received) == total
    ids = [r["message"]["Message-ID"] for r in smtp_server.received]
    assert len(set(ids)) == len(ids) == total // 2
    assert len(set(gateway.keys)) == len(gateway.keys) == total // 2
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(drained)
               if r.channel != "app")


def test_unconfigured_channel_waits_without_counting_attempts(drained, users, clock,
                                                              smtp_server, gateway):
    no_smtp = dataclasses.replace(drained.settings, smtp_url=None)
    partial = Deliverer(drained.db, no_smtp, clock=clock)
    forward_file(drained, users)

    counts = partial.deliver_due()
    assert (counts["sent"], counts["unconfigured"]) == (1, 1)
    assert partial.deliver_due()["unconfigured"] == 0  # marked once, not rewritten
    [mail] = rows(drained, channel="email", status="pending")
    assert mail.attempts == 0
    assert mail.last_error == NOT_CONFIGURED["email"]
    assert len(gateway.received) == 1
    assert smtp_server.received == []

    full = Deliverer(drained.db, drained.settings, clock=clock)
    assert full.deliver_due()["sent"] == 1
    assert len(smtp_server.received) == 1
    assert rows(drained, id=mail.id)[0].status == "sent"


def test_smtp_server_down_is_retried(drained, users, clock, smtp_server):
    down = dataclasses.replace(drained.settings, smtp_url=f"smtp://127.0.0.1:{_free_port()}")
    forward_file(drained, users)
    counts = Deliverer(drained.db, down, clock=clock).deliver_due()
    assert (counts["sent"], counts["retrying"]) == (1, 1)
    [mail] = rows(drained, channel="email", status="pending")
    assert mail.attempts == 1
    assert "unreachable" in mail.last_error
    assert "127.0.0.1" in mail.last_error

    clock.advance(30)
    assert Deliverer(drained.db, drained.settings, clock=clock).deliver_due()["sent"] == 1
    assert len(smtp_server.received) == 1


def test_a_crashed_workers_claim_is_recovered(drained, users, deliverer, clock, gateway):
    forward_file(drained, users)
    [sms] = rows(drained, channel="sms", status="pending")
    claimed = deliverer._claim(sms.id)  # a worker claims the row and dies before sending
    assert claimed is not None
    assert claimed.attempts == 1
    assert rows(drained, id=sms.id)[0].status == "sending"
    assert deliverer._claim(sms.id) is None  # nobody else can take it meanwhile

    assert deliverer.deliver_due()["recovered"] == 0  # lease still running
    clock.advance(deliverer.lease.total_seconds())
    assert deliverer.deliver_due()["recovered"] == 1
    row = rows(drained, id=sms.id)[0]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, INTERRUPTED)
    clock.advance(30)
    assert deliverer.deliver_due()["sent"] == 1
    assert rows(drained, id=sms.id)[0].attempts == 2
    assert len(gateway.received) == 1


def test_late_outcome_is_fenced_by_the_attempt(drained, users, deliverer, clock, gateway):
    forward_file(drained, users)
    [sms] = rows(drained, channel="sms", status="pending")

    # slow worker: lease ran out and the row was put back, but nobody re-claimed it yet ->
    # its success still counts (no second send)
    slow = deliverer._claim(sms.id)
    clock.advance(deliverer.lease.total_seconds())
    deliverer._recover_expired(clock.now)
    assert deliverer._record_sent(slow) is True
    assert rows(drained, id=sms.id)[0].status == "sent"

    # lease ran out and another worker re-claimed: the newer attempt owns the row
    with drained.db.transaction() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == sms.id)
                  .values(status="pending", attempts=0, next_attempt_at=None))
    old = deliverer._claim(sms.id)
    clock.advance(deliverer.lease.total_seconds())
    deliverer._recover_expired(clock.now)
    clock.advance(deliverer.backoff_base)
    new = deliverer._claim(sms.id)
    assert new is not None
    assert new.attempts == old.attempts + 1
    assert deliverer._record_sent(old) is False
    assert deliverer._record_failure(old, "late") is None
    assert rows(drained, id=sms.id)[0].status == "sending"
    assert deliverer._record_sent(new) is True


def test_background_thread_delivers(drained, users, smtp_server, gateway):
    worker = Deliverer(drained.db, drained.settings)
    thread, stop = worker.start_thread(interval=0.05)
    try:
        forward_file(drained, users)
        deadline = time.monotonic() + 15
        while pending_rows(drained) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert pending_rows(drained) == []
    assert len(smtp_server.received) == len(gateway.received) == 1


def test_outbox_writes_sms_only_for_users_with_a_phone(drained, users):
    with drained.db.transaction() as s:
        so, admin = s.get(User, users["so"].id), s.get(User, users["admin"].id)
        outbox.notify(s, "test:channels", [so, admin], "s", "b")
        outbox.notify(s, "test:channels", [so, admin], "s", "b")  # a repeat is a no-op
    with drained.db.reader() as s:
        got = sorted(s.execute(select(OutboxMessage.channel, OutboxMessage.recipient,
                                      OutboxMessage.status)
                               .where(OutboxMessage.event_key.like("test:channels:%"))).all())
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.event_key.like("test:channels:%"))) == 4
    assert got == [("app", "admin", "sent"), ("app", "so", "sent"),
                   ("email", "so@gad.example.gov.in", "pending"),
                   ("sms", "+919000000002", "pending")]


def test_bad_urls_are_refused(drained):
    with pytest.raises(ValueError, match="SANCHIKA_SMTP_URL"):
        Deliverer(drained.db, dataclasses.replace(drained.settings, smtp_url="http://x"))
    with pytest.raises(ValueError, match="SANCHIKA_SMS_URL"):
        Deliverer(drained.db, dataclasses.replace(drained.settings, sms_url="ftp://x/y"))


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_from_the_url(drained, users, clock):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and \
            (auth_data.login, auth_data.password) == (b"mailer", b"p@ss:word")
        seen.append(ok)
        return AuthResult(success=ok)

    handler = SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            authenticator=authenticator, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    try:
        url = f"smtp://mailer:p%40ss%3Aword@127.0.0.1:{controller.port}"
        worker = Deliverer(drained.db, dataclasses.replace(drained.settings, smtp_url=url),
                           clock=clock)
        forward_file(drained, users)
        assert worker.deliver_due()["sent"] == 2
    finally:
        controller.stop()
    assert seen == [True]
    assert len(handler.received) == 1
