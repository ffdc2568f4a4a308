"""Reading one mailbox over IMAP (stdlib imaplib), without altering it.

Mails are fetched with BODY.PEEK[] so reading never sets \\Seen; the only changes made are
the configured ones, and only after the mail's receipt is committed (`mark`)."""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from engine.intake.config import Mailbox

BATCH = 50  # mails fetched per poll of one mailbox; the next poll goes on


class ImapError(Exception):
    """The mailbox could not be read; the message says why (never the password)."""


def _context(box: Mailbox) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=box.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, list], what: str) -> list:
    status, data = result
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
        raise ImapError(f"{what} failed: {detail[:200]}")
    return data


class Connection:
    def __init__(self, box: Mailbox, client: imaplib.IMAP4):
        self.box = box
        self.client = client
        self.uidvalidity = 0

    def select(self, readonly: bool) -> int:
        data = _check(self.client.select(_quote(self.box.folder), readonly=readonly),
                      f"selecting folder {self.box.folder}")
        del data
        validity = self.client.untagged_responses.get("UIDVALIDITY") or [b"0"]
        last = validity[-1]
        self.uidvalidity = int(last if isinstance(last, bytes) else last[0])
        return self.uidvalidity

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs above after_uid, oldest first (at most BATCH)."""
        data = _check(self.client.uid("SEARCH", f"UID {after_uid + 1}:*"), "searching")
        found = b" ".join(d for d in data if isinstance(d, bytes)).split()
        uids = sorted(int(u) for u in found if int(u) > after_uid)
        return uids[:BATCH]

    def fetch(self, uid: int) -> bytes | None:
        """The whole mail, without setting \\Seen; None if it is gone."""
        data = _check(self.client.uid("FETCH", str(uid), "(BODY.PEEK[])"), f"fetching {uid}")
        for item in data:
            if isinstance(item, tuple) and re.search(rb"\bUID %d\b" % uid, item[0]):
                return item[1]
        for item in data:  # some servers put UID after the literal
            if isinstance(item, tuple):
                return item[1]
        return None

    def mark(self, uid: int) -> None:
        """The configured change after a mail was taken: flag it seen, or move it."""
        if self.box.after == "seen":
            _check(self.client.uid("STORE", str(uid), "+FLAGS", "(\\Seen)"), "flagging")
        elif self.box.after == "move":
            target = _quote(self.box.move_to or "")
            if "MOVE" in self.client.capabilities:
                _check(self.client.uid("MOVE", str(uid), target), "moving")
            else:
                _check(self.client.uid("COPY", str(uid), target), "copying")
                _check(self.client.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)"), "deleting")
                _check(self.client.expunge(), "expunging")


@contextmanager
def connect(box: Mailbox) -> Iterator[Connection]:
    try:
        if box.security == "tls":
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(box.host, box.port,
                                                      ssl_context=_context(box),
                                                      timeout=box.timeout)
        else:
            client = imaplib.IMAP4(box.host, box.port, timeout=box.timeout)
            if box.security == "starttls":
                client.starttls(ssl_context=_context(box))
        client.login(box.username, box.password)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"mailbox {box.name}: cannot sign in to {box.host}:{box.port} "
                        f"({exc.__class__.__name__}: {str(exc)[:200]})") from None
    try:
        yield Connection(box, client)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"mailbox {box.name}: {exc.__class__.__name__}: {str(exc)[:200]}"
                        ) from None
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            client.logout()
