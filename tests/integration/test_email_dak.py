"""E-mail diarisation against a real IMAP server (Dovecot on loopback): mails delivered to
the office mailbox become pending e-mail receipts within one polling interval, are taken
exactly once (delivered again, a lost cursor, a restart, two pollers at once), are
diarised with their PDF as the scan or rejected with a remark, and the mailbox is changed
only as configured (seen flag / move), after the commit."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.intake.config import MailboxConfigError, load
from engine.ops import scheduler
from engine.store.intake_models import EmailReceipt, MailboxCursor
from tests import imapserver
from tests.pdfs import make_pdf

pytestmark = pytest.mark.skipif(
    not imapserver.available() and os.environ.get("CI") != "true",
    reason="Dovecot not installed (scripts/test installs dovecot-imapd)")


@pytest.fixture(scope="module")
def imap():
    server = imapserver.Dovecot().start()
    yield server
    server.stop()


def mailbox_toml(imap: imapserver.Dovecot, name: str, *, security: str = "plain",
                 after: str = "seen", port: int | None = None, ca: bool = True,
                 folder: str = "INBOX") -> str:
    lines = [f'name = "{name}"', 'host = "127.0.0.1"',
             f"port = {port or (imap.tls_port if security == 'tls' else imap.port)}",
             f'security = "{security}"', f'username = "{imapserver.USER}"',
             'password_env = "TEST_IMAP_PASSWORD"', f'folder = "{folder}"',
             'post = "GAD-EST-DA"', f'after = "{after}"', 'move_to = "Diarised"']
    if ca:
        lines.append(f'ca_file = "{imap.cert}"')
    return "[[mailbox]]\n" + "\n".join(lines) + "\n"


@pytest.fixture
def folder(imap) -> str:
    """A folder of this test's own, so tests never see each other's mails."""
    name = f"T{time.monotonic_ns()}"
    with imap.client() as c:
        assert c.create(name)[0] == "OK"
    return name


@pytest.fixture
def mailboxes(tmp_path: Path, imap, folder: str, monkeypatch) -> Path:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", imapserver.PASSWORD)
    path = tmp_path / "mailboxes.toml"
    path.write_text("poll_seconds = 0.3\n" + mailbox_toml(imap, "gad-est", folder=folder))
    return path


@pytest.fixture
def settings(settings: Settings, mailboxes: Path) -> Settings:
    """The test's settings with the office mailbox configured."""
    return replace(settings, mailboxes_file=mailboxes)


def letter(subject: str, body: str = "Please find the letter attached.", *,
           pdf: bytes | None = None, message_id: str | None = None,
           extra: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Tehsildar Sadar <tehsildar.sadar@example.gov.in>"
    msg["To"] = "dak-est@gad.example.gov.in"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 30 Nov 2026 10:15:00 +0530"
    msg["Message-ID"] = message_id or f"<{time.monotonic_ns()}@example.gov.in>"
    msg.set_content(body)
    if pdf is not None:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="letter.pdf")
    if extra is not None:
        msg.add_attachment(extra[1], maintype="application", subtype="octet-stream",
                           filename=extra[0])
    return msg.as_bytes()


def wait_for(predicate, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def rows(app: Sanchika) -> int:
    with app.db.reader() as s:
        return s.scalar(select(func.count()).select_from(EmailReceipt))


def test_mail_becomes_pending_receipt_then_diarised_once(demo, api, folder, imap):
    scan = make_pdf("Letter from the Tehsildar", pages=2)
    mid = "<est-001@example.gov.in>"
    raw = letter("Pay fixation of Shri Mohan Lal", "The letter is attached.\nकृपया देखें।",
                 pdf=scan, message_id=mid, extra=("notes.docx", b"PK\x03\x04 not a pdf"))
    imap.deliver(raw, folder)
    jobs = scheduler.start(demo, lease_ttl=5.0)
    try:
        # within one polling interval (0.3 s; the deadline only guards a loaded machine)
        pending = wait_for(lambda: api.get("/email-receipts", "clerk").json(),
                           "the pending e-mail receipt")
        assert len(pending) == 1
        mail = api.get(f"/email-receipts/{pending[0]['id']}", "clerk").json()
        assert mail["sender"] == "Tehsildar Sadar"
        assert mail["sender_address"] == "tehsildar.sadar@example.gov.in"
        assert mail["subject"] == "Pay fixation of Shri Mohan Lal"
        assert "कृपया देखें" in mail["body"]
        assert mail["sent_at"].startswith("2026-11-30T04:45")
        assert [(a["filename"], a["is_pdf"]) for a in mail["attachments"]] == [
            ("letter.pdf", True), ("notes.docx", False)]
        assert mail["prefill"]["letter_date"] == "2026-11-30"
        assert mail["prefill"]["language"] == "hi"
        # the mailbox: flagged seen only after the commit; never read by anyone else
        flags = wait_for(lambda: [f for f in imap.flags(folder).values()
                                  if b"\\Seen" in f], "the seen flag")
        assert len(flags) == 1
        eml = api.get(f"/email-receipts/{mail['id']}/eml", "clerk")
        assert eml.status_code == 200
        assert b"Pay fixation" in eml.content
        att = api.get(f"/email-receipts/{mail['id']}/attachments/2", "clerk")
        assert att.content == b"PK\x03\x04 not a pdf"

        # another post's officer neither sees nor decides it
        assert api.get("/email-receipts", "so").json() == []
        assert api.post(f"/email-receipts/{mail['id']}/confirm", "so", json={}).status_code \
            == 403

        # the same mail delivered again: taken once
        imap.deliver(raw, folder)
        wait_for(lambda: len(imap.flags(folder)) == 2 and all(
            b"\\Seen" in f for f in imap.flags(folder).values()), "second mail seen")
        assert rows(demo) == 1

        r = api.post(f"/email-receipts/{mail['id']}/confirm", "clerk",
                     json={"subject": "Pay fixation: Shri Mohan Lal, LDC", "category": "Pay"})
        assert r.status_code == 201, r.text
        receipt = r.json()
        assert receipt["subject"] == "Pay fixation: Shri Mohan Lal, LDC"
        assert receipt["mode"] == "email"
        assert receipt["form"] == "electronic"
        assert receipt["letter_date"] == "2026-11-30"
        assert api.get(f"/receipts/{receipt['id']}/pdf", "clerk").content == scan
        again = api.post(f"/email-receipts/{mail['id']}/confirm", "clerk", json={})
        assert again.status_code == 409
        assert api.get("/email-receipts", "clerk").json() == []
        done = api.get("/email-receipts?status=diarised", "clerk").json()
        assert done[0]["receipt_id"] == receipt["id"]
        assert receipt["tasks"], "the diarised receipt is open for action"
    finally:
        jobs.shutdown()


POLL_ONCE = """
import handlers
from engine.app import Sanchika
from engine.config import Settings
app = Sanchika(Settings.from_env(), handlers.registry)
results = app.poll_mailboxes()
print(sum(r.taken for r in results), [r.error for r in results])
"""
ROOT = Path(__file__).resolve().parents[2]


def test_restart_lost_cursor_and_pollers_in_two_processes_take_each_mail_once(
        demo, settings, folder, imap):
    for n in range(3):
        imap.deliver(letter(f"Letter {n}", pdf=make_pdf(f"L{n}")), folder)
    second = Sanchika(settings, handlers.registry)  # another service in this process
    # ... and a server process of its own, polling at the same moment
    env = {**os.environ, "SANCHIKA_DATA_DIR": str(settings.data_dir),
           "SANCHIKA_DATABASE_URL": settings.database_url, "SANCHIKA_SECRET_KEY": "test-secret",
           "SANCHIKA_MAILBOXES": str(settings.mailboxes_file)}
    other = subprocess.Popen([sys.executable, "-c", POLL_ONCE], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        results: list = []
        threads = [threading.Thread(target=lambda a=a: results.extend(a.poll_mailboxes()))
                   for a in (demo, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, err
        taken_there, errors_there = out.strip().splitlines()[-1].split(" ", 1)
        assert errors_there == "[None]", err
        assert all(r.error is None for r in results), results
        assert sum(r.taken for r in results) + int(taken_there) == 3
        assert rows(demo) == 3
        # a restart that lost the cursor (or a restored backup) reads from the start again
        with demo.db.transaction() as s:
            s.execute(update(MailboxCursor).values(last_uid=0))
        third = Sanchika(settings, handlers.registry)
        [result] = third.poll_mailboxes()
        third.db.dispose()
        assert (result.taken, result.duplicates, result.error) == (0, 3, None)
        assert rows(demo) == 3
    finally:
        second.db.dispose()


def test_reject_needs_a_remark(demo, api, folder, imap):
    imap.deliver(letter("Win a prize", "Click here"), folder)
    demo.poll_mailboxes()
    [mail] = api.get("/email-receipts", "clerk").json()
    r = api.post(f"/email-receipts/{mail['id']}/reject", "clerk", json={"remark": ""})
    assert r.status_code == 422
    assert "remark" in r.text
    r = api.post(f"/email-receipts/{mail['id']}/reject", "clerk", json={"remark": "spam"})
    assert r.status_code == 200
    assert r.json()["status"] == "rejected"
    assert api.post(f"/email-receipts/{mail['id']}/confirm", "clerk", json={}).status_code \
        == 409
    assert api.get("/email-receipts?status=rejected", "clerk").json()[0]["remark"] == "spam"


def test_mail_without_pdf_is_diarised_with_a_pdf_of_its_text(demo, api, folder, imap):
    imap.deliver(letter("Leave of Smt. Asha", "Leave from 1 to 5 December."),
                 folder)
    demo.poll_mailboxes()
    [mail] = api.get("/email-receipts", "clerk").json()
    r = api.post(f"/email-receipts/{mail['id']}/confirm", "clerk", json={"letter_date": "x"})
    assert r.status_code == 422
    assert "letter_date" in r.text
    assert api.get("/email-receipts", "clerk").json()  # still pending: nothing changed
    r = api.post(f"/email-receipts/{mail['id']}/confirm", "clerk", json={})
    assert r.status_code == 201, r.text
    pdf = api.get(f"/receipts/{r.json()['id']}/pdf", "clerk").content
    assert pdf.startswith(b"%PDF-")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_and_starttls_with_the_servers_certificate(tmp_path, imap, demo, security,
                                                       monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", imapserver.PASSWORD)
    path = tmp_path / f"{security}.toml"
    path.write_text(mailbox_toml(imap, "secure", security=security, after="keep"))
    box = load(path).mailboxes[0]
    from engine.intake.poll import poll_mailbox
    result = poll_mailbox(demo.db, demo.settings.data_dir, box)
    assert result.error is None
    # an untrusted certificate is refused, and said so; nothing else breaks
    path.write_text(mailbox_toml(imap, "secure", security=security, after="keep", ca=False))
    result = poll_mailbox(demo.db, demo.settings.data_dir, load(path).mailboxes[0])
    assert result.error
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    with demo.db.reader() as s:
        assert "CERTIFICATE_VERIFY_FAILED" in s.get(MailboxCursor, "secure").error


def test_move_after_taking(tmp_path, imap, demo, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", imapserver.PASSWORD)
    folder = f"M{time.monotonic_ns()}"
    with imap.client() as c:
        c.create(folder)
    path = tmp_path / "move.toml"
    path.write_text(mailbox_toml(imap, "mover", after="move", folder=folder))
    before = imap.count("Diarised")
    imap.deliver(letter("To be moved"), folder)
    from engine.intake.poll import poll_mailbox
    result = poll_mailbox(demo.db, demo.settings.data_dir, load(path).mailboxes[0])
    assert (result.taken, result.error) == (1, None)
    assert imap.count(folder) == 0
    assert imap.count("Diarised") == before + 1


def test_configuration_errors_name_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[mailbox]]\nname = "x"\nhost = "imap.example.gov.in"\n'
                    'username = "u"\npassword = "p"\npost = "P"\nsecurity = "plain"\n')
    with pytest.raises(MailboxConfigError, match="plain is allowed only on loopback"):
        load(path)
    path.write_text('[[mailbox]]\nname = "x"\nhost = "h"\nusername = "u"\npost = "P"\n'
                    'password_env = "NOT_SET_ANYWHERE"\n')
    with pytest.raises(MailboxConfigError, match="NOT_SET_ANYWHERE is not set"):
        load(path, {})


def _signed_in(server: str, username: str, language: str = "en"):
    import re

    import requests

    from tests.conftest import PASSWORD

    web = requests.Session()
    web.headers["Accept-Language"] = language
    page = web.get(f"{server}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = web.post(f"{server}/login", data={"username": username, "password": PASSWORD,
                                          "csrf_token": token}, timeout=10)
    assert r.status_code == 200, r.text[:500]
    assert "/login" not in r.url, r.text[:500]
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = web.post(f"{server}/language", data={"lang": language, "csrf_token": token},
                 timeout=10)
    assert r.status_code == 200, r.text[:300]
    return web


def test_pages_confirm_and_reject_in_hindi(demo, server, folder, imap):
    import re

    imap.deliver(letter("वेतन निर्धारण", "पत्र संलग्न है।", pdf=make_pdf("scan")), folder)
    imap.deliver(letter("Lottery", "spam"), folder)
    demo.poll_mailboxes()
    web = _signed_in(server, "clerk", "hi")
    listing = web.get(f"{server}/dak/email", timeout=10).text
    assert "ई-मेल डाक" in listing
    assert "वेतन निर्धारण" in listing
    first, second = [int(i) for i in re.findall(r'/dak/email/(\d+)"', listing)]
    page = web.get(f"{server}/dak/email/{first}", timeout=10).text
    assert "इस मेल को डायरी करें" in page
    assert 'value="वेतन निर्धारण"' in page
    assert 'value="2026-11-30"' in page
    assert "पत्र संलग्न है।" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = web.post(f"{server}/dak/email/{first}/confirm", timeout=10, data={
        "csrf_token": token, "sender": "तहसीलदार सदर", "subject": "वेतन निर्धारण: मोहन लाल",
        "language": "hi", "grading": "Normal", "letter_date": "2026-11-30", "scan": "1"})
    assert r.status_code == 200, r.text[:300]
    assert "/receipts/" in r.url, r.text[:300]
    assert "वेतन निर्धारण: मोहन लाल" in r.text
    r = web.post(f"{server}/dak/email/{second}/reject", timeout=10,
                 data={"csrf_token": token, "remark": "विज्ञापन"})
    assert r.status_code == 200
    assert r.url.endswith("/dak/email")
    rejected = web.get(f"{server}/dak/email?status=rejected", timeout=10).text
    assert "विज्ञापन" in rejected
    # an administrator sees how each mailbox's last poll went
    admin = _signed_in(server, "admin")
    assert "gad-est" in admin.get(f"{server}/dak/email", timeout=10).text
