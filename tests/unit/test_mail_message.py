"""Cutting a mail into what the diarist needs (engine/intake/message.py), on mails built
with the standard library: HTML-only bodies, no Message-ID, odd attachments."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

from engine.intake.message import parse


def test_html_only_mail_without_message_id_is_known_by_its_hash():
    msg = EmailMessage()
    msg["From"] = "dm-office@example.gov.in"
    msg["Subject"] = "बैठक की सूचना"
    msg.set_content("<p>बैठक <b>सोमवार</b> को होगी।</p><script>x()</script><br>धन्यवाद",
                    subtype="html")
    raw = msg.as_bytes()
    mail = parse(raw)
    assert mail.message_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert mail.sender == "dm-office@example.gov.in"
    assert mail.sender_address == mail.sender
    assert mail.subject == "बैठक की सूचना"
    assert mail.sent_at is None
    assert "बैठक" in mail.body
    assert "सोमवार" in mail.body
    assert "<b>" not in mail.body
    assert "x()" not in mail.body
    assert "धन्यवाद" in mail.body


def test_attachments_pdf_or_not_and_a_missing_subject():
    msg = EmailMessage()
    msg["From"] = "Registrar <registrar@example.gov.in>"
    msg["Date"] = "not a date"
    msg.set_content("see attached")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="octet-stream",
                       filename="../../etc/scan.bin")
    msg.add_attachment(b"GIF89a", maintype="image", subtype="gif", filename="logo.gif")
    mail = parse(msg.as_bytes())
    assert mail.subject == "(no subject)"
    assert mail.sent_at is None
    assert [(a.filename, a.is_pdf) for a in mail.attachments] == [
        ("scan.bin", True), ("logo.gif", False)]  # the name never carries a path
