"""A mail cut into what a diarist needs: sender, subject, date, body text, attachments."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePath

from engine.domain.uploads import PDF_MAGIC

MAX_BODY_CHARS = 100_000


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def is_pdf(self) -> bool:
        return self.data[:1024].lstrip().startswith(PDF_MAGIC)


@dataclass
class ParsedMail:
    message_id: str
    sender: str
    sender_address: str | None
    subject: str
    sent_at: datetime | None
    body: str
    attachments: list[Attachment]


def _text_of_html(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style).*?</\1>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset: keep what decodes
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_subtype() == "html":
        content = _text_of_html(content)
    content = re.sub(r"[ \t]+\n", "\n", content.replace("\r\n", "\n"))
    return re.sub(r"\n{3,}", "\n\n", content).strip()[:MAX_BODY_CHARS]


def _date(msg: EmailMessage) -> datetime | None:
    raw = msg.get("Date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def parse(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(msg, EmailMessage):  # policy.default always makes one
        raise TypeError("the mail parser gave no EmailMessage")
    # A mail without a Message-ID is known by its content's hash instead.
    message_id = str(msg.get("Message-ID") or "").strip()[:500] or \
        "sha256:" + hashlib.sha256(raw).hexdigest()
    addresses = getaddresses([str(msg.get("From") or "")])
    name, address = addresses[0] if addresses else ("", "")
    sender = (name or address or "(unknown sender)").strip()[:300]
    attachments = []
    for n, part in enumerate(msg.iter_attachments(), start=1):
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes | bytearray):
            continue  # an attached mail (message/rfc822) stays inside the .eml
        name_of = PurePath(part.get_filename() or f"attachment-{n}").name[:200]
        attachments.append(Attachment(name_of, part.get_content_type()[:100], bytes(data)))
    return ParsedMail(
        message_id=message_id, sender=sender, sender_address=(address or None),
        subject=(str(msg.get("Subject") or "").strip() or "(no subject)")[:500],
        sent_at=_date(msg), body=_body(msg), attachments=attachments)
