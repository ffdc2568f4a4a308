"""Delivery of outbox messages (e-mail and SMS) after the action's transaction committed.

The action writes its notifications to `outbox` in its own transaction (engine/notify/outbox.py);
this worker delivers them afterwards. Life of an 'email' or 'sms' row:

    pending --claim--> sending --delivered--------------------------> sent
                          |----- failed, attempts < max_attempts ---> pending (backoff)
                          |----- failed, attempts >= max_attempts --> failed (kept)
                          '----- lease ran out (worker died) -------> as a failure

* Claiming is one short transaction per row: an UPDATE ... WHERE id = ? AND status =
  'pending' (and due). Only one worker's UPDATE matches, so two workers (threads or
  processes, SQLite or PostgreSQL) never send the same row. The claim also counts the
  attempt and writes the lease's end into next_attempt_at.
* Sending happens outside any transaction (no database lock is held while talking to the
  mail server or the SMS gateway), with a timeout.
* The outcome is written in a second short transaction, fenced by the attempt number the
  claim produced, so a late worker never overwrites a newer attempt's result.
* Nothing is ever deleted: a message that could not be delivered ends as 'failed' with its
  last_error, visible in the table (and `requeue_failed` puts it back in the queue).

At-least-once edge: if a worker dies (or loses the database) after the mail server or
gateway accepted a message but before 'sent' was recorded, the row stays 'sending' until
its lease (default 5 minutes) runs out; the next sweep then treats it as a failed attempt
and it is sent again later. A worker that is merely slow and finishes after its lease still
records 'sent' if nobody has re-claimed the row yet; only when the lease ran out AND
another worker re-claimed the row can the recipient get the message twice. To let the far
end drop such a duplicate, every e-mail carries a Message-ID and every SMS request an
Idempotency-Key header derived from the row's unique event_key.

A channel whose URL is not configured is not attempted: its rows stay 'pending' with
attempts unchanged and last_error "SMTP not configured (SANCHIKA_SMTP_URL)" (or the SMS
equivalent), and go out as soon as a worker with the URL configured runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from http.client import HTTPMessage
from typing import IO, Any

from sqlalchemy import func, or_, select, update

from engine.config import Settings
from engine.notify import attachments
from engine.store.db import Database, rows_changed
from engine.store.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

FROM_HEADER = "Sanchika <noreply@sanchika.local>"
ENVELOPE_FROM = "noreply@sanchika.local"
MESSAGE_ID_DOMAIN = "sanchika.local"
NOT_CONFIGURED = {
    "email": "SMTP not configured (SANCHIKA_SMTP_URL)",
    "sms": "SMS gateway not configured (SANCHIKA_SMS_URL)",
}
INTERRUPTED = ("delivery interrupted: the worker stopped while sending "
               "(the message may have gone out)")
MAX_ERROR_CHARS = 500
COUNT_KEYS = ("sent", "retrying", "failed", "recovered", "unconfigured", "skipped")


class DeliveryError(Exception):
    """A delivery attempt failed; the message is what last_error records."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    ssl: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SANCHIKA_SMTP_URL: expected smtp://host:port or "
                             f"smtps://host:port, got {parts.scheme or '?'}://…")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"SANCHIKA_SMTP_URL: {exc}") from exc
        return cls(
            host=parts.hostname,
            port=port or (465 if parts.scheme == "smtps" else 25),
            ssl=parts.scheme == "smtps",
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True)
class Claimed:
    """A row this worker owns until its lease runs out; `attempts` fences the outcome."""

    id: int
    channel: str
    recipient: str | None
    subject: str
    body: str
    event_key: str
    attempts: int


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET and lose the message: treat it as an error."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: HTTPMessage, newurl: str) -> None:
        return None


class Deliverer:
    """Delivers due 'email' and 'sms' outbox rows. Safe to run in several threads or
    processes at once. Construct with the service's Database and Settings:

        deliverer = Deliverer(app.db, app.settings)
        thread, stop = deliverer.start_thread(interval=5.0)   # in `sanchika serve`
        ...
        stop.set(); thread.join(timeout=30)
    """

    def __init__(self, db: Database, settings: Settings, *, max_attempts: int = 8,
                 backoff_base: float = 30.0, backoff_cap: float = 3600.0,
                 lease_seconds: float = 300.0, smtp_timeout: float = 20.0,
                 sms_timeout: float = 10.0, clock: Callable[[], datetime] = utcnow):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        # smtplib/urllib time out per socket operation; a send is a handful of them.
        if lease_seconds < 8 * max(smtp_timeout, sms_timeout):
            raise ValueError("lease_seconds must comfortably exceed the send timeouts")
        self.db = db
        self.settings = settings
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.lease = timedelta(seconds=lease_seconds)
        self.smtp_timeout = smtp_timeout
        self.sms_timeout = sms_timeout
        self.clock = clock
        self.smtp = SmtpTarget.parse(settings.smtp_url) if settings.smtp_url else None
        self.sms_url = settings.sms_url
        if self.sms_url:
            parts = urllib.parse.urlsplit(self.sms_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("SANCHIKA_SMS_URL: expected an http:// or https:// URL")
        self._opener = urllib.request.build_opener(_NoRedirect)

    # ------------------------------------------------------------ public

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this worker can deliver (their URL is configured)."""
        return tuple(c for c, ok in (("email", self.smtp), ("sms", self.sms_url)) if ok)

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed attempt: base, 2*base, 4*base… up to the cap."""
        exponent = min(max(attempts - 1, 0), 30)
        return timedelta(seconds=min(self.backoff_cap, self.backoff_base * 2 ** exponent))

    def deliver_due(self, limit: int = 100, *, stop: threading.Event | None = None
                    ) -> dict[str, int]:
        """One sweep: recover expired claims, then claim, send and record up to `limit` due
        rows one by one. Returns counts: sent, retrying (failed, will retry), failed (out of
        attempts), recovered (claims whose lease ran out, put back or failed), unconfigured
        (rows newly marked as waiting for an unconfigured channel), skipped (taken by
        another worker first)."""
        counts = dict.fromkeys(COUNT_KEYS, 0)
        now = self.clock()
        counts["recovered"] = self._recover_expired(now)
        counts["unconfigured"] = self._mark_unconfigured()
        for row_id in self._due_ids(now, limit):
            if stop is not None and stop.is_set():
                break
            claimed = self._claim(row_id)
            if claimed is None:
                counts["skipped"] += 1
                continue
            try:
                self._send(claimed)
            except Exception as exc:  # any failure is recorded on the row, never raised
                error = _describe(exc)
                log.warning("outbox %s (%s to %s) attempt %d failed: %s", claimed.id,
                            claimed.channel, claimed.recipient, claimed.attempts, error,
                            extra={"event": "outbox_attempt_failed", "outbox_id": claimed.id,
                                   "channel": claimed.channel, "attempt": claimed.attempts})
                counts[self._record_failure(claimed, error) or "skipped"] += 1
            else:
                counts["sent" if self._record_sent(claimed) else "skipped"] += 1
        return counts

    def run_forever(self, stop_event: threading.Event, interval: float = 5.0,
                    batch: int = 100) -> None:
        """Sweep every `interval` seconds until stop_event is set (for a background thread).
        A full batch is followed at once by the next one. Errors (e.g. the database being
        away) are logged and the loop carries on."""
        while not stop_event.is_set():
            busy = False
            try:
                counts = self.deliver_due(batch, stop=stop_event)
                done = counts["sent"] + counts["retrying"] + counts["failed"]
                busy = done + counts["skipped"] >= batch
                if done or counts["recovered"]:
                    log.info("outbox delivery: %s", counts,
                             extra={"event": "outbox_delivery", **counts})
            except Exception:
                log.exception("outbox delivery sweep failed; retrying in %ss", interval)
            if not busy:
                stop_event.wait(interval)

    def start_thread(self, interval: float = 5.0, name: str = "sanchika-delivery"
                     ) -> tuple[threading.Thread, threading.Event]:
        """Run `run_forever` in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run_forever, args=(stop, interval),
                                  name=name, daemon=True)
        thread.start()
        return thread, stop

    def requeue_failed(self, ids: Iterable[int] | None = None) -> int:
        """Put 'failed' rows (all, or the given ids) back in the queue with a fresh set of
        attempts; last_error stays until the next attempt. Returns how many."""
        query = update(OutboxMessage).where(OutboxMessage.status == "failed")
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(list(ids)))
        with self.db.transaction() as s:
            result = s.execute(query.values(status="pending", attempts=0, next_attempt_at=None)
                               .execution_options(synchronize_session=False))
            return rows_changed(result)

    def summary(self) -> dict[str, dict[str, int]]:
        """Row counts per channel and status, e.g. {"email": {"sent": 3, "failed": 1}}."""
        out: dict[str, dict[str, int]] = {}
        with self.db.reader() as s:
            rows = s.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                             .group_by(OutboxMessage.channel, OutboxMessage.status))
            for channel, status, n in rows:
                out.setdefault(channel, {})[status] = n
        return out

    # ------------------------------------------------------------ queue

    def _due_ids(self, now: datetime, limit: int) -> list[int]:
        if not self.channels or limit <= 0:
            return []
        with self.db.reader() as s:
            return list(s.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.channel.in_(self.channels),
                    or_(OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.next_attempt_at <= now))
                .order_by(OutboxMessage.id).limit(limit)))

    def _claim(self, row_id: int) -> Claimed | None:
        """Take one row in its own short transaction; None if another worker got it first
        (or it is no longer due)."""
        now = self.clock()
        with self.db.transaction() as s:
            result = s.execute(
                update(OutboxMessage).where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.status == "pending",
                    OutboxMessage.channel.in_(self.channels),
                    or_(OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.next_attempt_at <= now))
                .values(status="sending", attempts=OutboxMessage.attempts + 1,
                        next_attempt_at=now + self.lease)
                .execution_options(synchronize_session=False))
            if rows_changed(result) != 1:
                return None
            row = s.execute(select(
                OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient,
                OutboxMessage.subject, OutboxMessage.body, OutboxMessage.event_key,
                OutboxMessage.attempts).where(OutboxMessage.id == row_id)).one()
            return Claimed(*row)

    def _record_sent(self, msg: Claimed) -> bool:
        """Mark delivered. Fenced by the attempt number: if the lease ran out and the row
        was already re-claimed (a newer attempt), that attempt owns the row. A row merely
        put back to 'pending' (or 'failed') by lease recovery is still marked sent, since
        it was delivered."""
        with self.db.transaction() as s:
            result = s.execute(
                update(OutboxMessage).where(
                    OutboxMessage.id == msg.id, OutboxMessage.attempts == msg.attempts,
                    OutboxMessage.status.in_(("sending", "pending", "failed")))
                .values(status="sent", sent_at=self.clock(), next_attempt_at=None)
                .execution_options(synchronize_session=False))
            if rows_changed(result) != 1:
                log.warning("outbox %s was delivered after its lease ran out and another "
                            "worker re-claimed it: the recipient may get it twice", msg.id)
                return False
            return True

    def _record_failure(self, msg: Claimed, error: str) -> str | None:
        """Back to 'pending' with a backoff, or 'failed' when out of attempts. Returns the
        count key, or None if the row is no longer this attempt's."""
        error = error[:MAX_ERROR_CHARS]
        if msg.attempts >= self.max_attempts:
            values: dict[str, Any] = {"status": "failed", "next_attempt_at": None}
            key = "failed"
        else:
            values = {"status": "pending",
                      "next_attempt_at": self.clock() + self.backoff(msg.attempts)}
            key = "retrying"
        with self.db.transaction() as s:
            result = s.execute(
                update(OutboxMessage).where(
                    OutboxMessage.id == msg.id, OutboxMessage.attempts == msg.attempts,
                    OutboxMessage.status == "sending")
                .values(last_error=error, **values)
                .execution_options(synchronize_session=False))
            return key if rows_changed(result) == 1 else None

    def _recover_expired(self, now: datetime) -> int:
        """'sending' rows whose lease ran out (a crashed or cut-off worker) count as a failed
        attempt: back to 'pending' with a backoff, or 'failed'. See the module docstring
        for the at-least-once edge this leaves."""
        with self.db.reader() as s:
            rows = s.execute(select(
                OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient,
                OutboxMessage.subject, OutboxMessage.body, OutboxMessage.event_key,
                OutboxMessage.attempts).where(
                OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)).all()
        recovered = 0
        for row in rows:
            msg = Claimed(*row)
            if self._record_failure(msg, INTERRUPTED) is not None:
                log.warning("outbox %s: claim expired while sending; counted as a failed "
                            "attempt (%d of %d)", msg.id, msg.attempts, self.max_attempts)
                recovered += 1
        return recovered

    def _mark_unconfigured(self) -> int:
        """Say why rows of an unconfigured channel wait; attempts are not counted."""
        marked = 0
        for channel, message in NOT_CONFIGURED.items():
            if channel in self.channels:
                continue
            condition = (
                (OutboxMessage.channel == channel) & (OutboxMessage.status == "pending")
                & or_(OutboxMessage.last_error.is_(None), OutboxMessage.last_error != message))
            with self.db.reader() as s:  # read first: an idle sweep writes nothing
                if s.scalar(select(OutboxMessage.id).where(condition).limit(1)) is None:
                    continue
            with self.db.transaction() as s:
                result = s.execute(update(OutboxMessage).where(condition)
                                   .values(last_error=message)
                                   .execution_options(synchronize_session=False))
                marked += rows_changed(result)
        return marked

    # ------------------------------------------------------------ channels

    def _send(self, msg: Claimed) -> None:
        if not msg.recipient:
            raise DeliveryError(f"no recipient for this {msg.channel} message")
        if msg.channel == "email":
            self._send_email(msg, msg.recipient)
        elif msg.channel == "sms":
            self._send_sms(msg)
        else:  # not claimable (see channels); kept for safety
            raise DeliveryError(f"unknown channel '{msg.channel}'")

    def build_email(self, msg: Claimed) -> EmailMessage:
        email = EmailMessage()  # policy.default: UTF-8 headers and body survive (RFC 2047)
        email["From"] = FROM_HEADER
        email["To"] = msg.recipient
        email["Subject"] = " ".join(msg.subject.split())  # no line breaks in a header
        email["Date"] = format_datetime(self.clock())
        email["Message-ID"] = f"<{msg.id}.{_stable_id(msg.event_key)}@{MESSAGE_ID_DOMAIN}>"
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        email.set_content(msg.body)
        for name, content_type, data in attachments.of_message(self.db, msg.id):
            maintype, _, subtype = content_type.partition("/")
            email.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return email

    def _send_email(self, msg: Claimed, recipient: str) -> None:
        target = self.smtp
        if target is None:
            raise DeliveryError(NOT_CONFIGURED["email"])
        email = self.build_email(msg)
        smtp_class = smtplib.SMTP_SSL if target.ssl else smtplib.SMTP
        try:
            # local_hostname: smtplib would otherwise do a (possibly slow) getfqdn() lookup
            smtp = smtp_class(target.host, target.port, local_hostname=socket.gethostname(),
                              timeout=self.smtp_timeout)
            try:
                if target.username:
                    smtp.login(target.username, target.password or "")
                smtp.send_message(email, from_addr=ENVELOPE_FROM, to_addrs=[recipient])
            finally:
                # Once the server accepted the message, a failing QUIT must not turn it
                # into a failed attempt (that would send it again).
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{rcpt}: {code} {_text(text)}"
                               for rcpt, (code, text) in exc.recipients.items())
            raise DeliveryError(f"SMTP server refused the recipient ({detail})") from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP server answered {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
        except TimeoutError as exc:
            raise DeliveryError(f"SMTP server {target.host}:{target.port} did not answer "
                                f"within {self.smtp_timeout:g}s") from exc
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP error: {exc}") from exc
        except OSError as exc:
            raise DeliveryError(f"SMTP server {target.host}:{target.port} unreachable: "
                                f"{exc.strerror or exc}") from exc

    def _send_sms(self, msg: Claimed) -> None:
        if not self.sms_url:
            raise DeliveryError(NOT_CONFIGURED["sms"])
        text = f"{msg.subject}\n{msg.body}"
        payload = json.dumps({"to": msg.recipient, "text": text}, ensure_ascii=False)
        # S310: the URL is checked to be http(s) in __init__
        request = urllib.request.Request(  # noqa: S310
            self.sms_url, data=payload.encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Accept": "application/json, */*",
                     "User-Agent": "Sanchika",
                     "Idempotency-Key": _stable_id(msg.event_key)})
        try:
            with self._opener.open(request, timeout=self.sms_timeout) as response:
                response.read(64 * 1024)
                status = response.status
        except urllib.error.HTTPError as exc:
            # an HTTPError may carry no body (fp None), whatever its stubs say
            detail = _text(exc.read(300)) if getattr(exc, "fp", None) is not None else ""
            exc.close()
            raise DeliveryError(f"SMS gateway answered HTTP {exc.code}"
                                + (f": {detail}" if detail else "")) from exc
        except urllib.error.URLError as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc.reason}") from exc
        except TimeoutError as exc:
            raise DeliveryError(
                f"SMS gateway did not answer within {self.sms_timeout:g}s") from exc
        except OSError as exc:
            raise DeliveryError(f"SMS gateway connection failed: {exc}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"SMS gateway answered HTTP {status}")


def _stable_id(event_key: str) -> str:
    return hashlib.sha256(event_key.encode("utf-8")).hexdigest()[:32]


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(value.split())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DeliveryError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
