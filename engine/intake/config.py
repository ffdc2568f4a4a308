"""Mailbox configuration: a TOML file (SANCHIKA_MAILBOXES names it).

    poll_seconds = 60
    [[mailbox]]
    name = "gad-est"                  # a short, stable name (kept with every mail taken)
    host = "imap.example.gov.in"
    port = 993
    security = "tls"                  # tls | starttls | plain (plain: loopback hosts only)
    username = "dak-est@example.gov.in"
    password_env = "GAD_EST_IMAP_PASSWORD"   # or password = "..." (keep the file 0600)
    folder = "INBOX"
    post = "GAD-EST-DA"               # the diarist's post: pending receipts go to its inbox
    after = "keep"                    # keep | seen | move   (what is done after taking a mail)
    move_to = "Diarised"              # with after = "move"
    ca_file = "/etc/ssl/imap-ca.pem"  # optional: trust this CA (a private mail server)

Passwords are read here and held only in memory; nothing of them reaches the database.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

SECURITY = ("tls", "starttls", "plain")
AFTER = ("keep", "seen", "move")
DEFAULT_POLL_SECONDS = 60.0


class MailboxConfigError(ValueError):
    """The mailbox file is wrong; the message names the mailbox and the key."""


@dataclass(frozen=True)
class Mailbox:
    name: str
    host: str
    port: int
    security: str
    username: str
    password: str = field(repr=False)
    post: str
    folder: str = "INBOX"
    after: str = "keep"
    move_to: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class IntakeConfig:
    mailboxes: tuple[Mailbox, ...]
    poll_seconds: float = DEFAULT_POLL_SECONDS


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _password(raw: dict, env: dict[str, str], where: str) -> str:
    if "password" in raw:
        return str(raw["password"])
    if raw.get("password_env"):
        password = env.get(str(raw["password_env"]), "")
        if not password:
            raise MailboxConfigError(f"{where}: the variable {raw['password_env']} is not set")
        return password
    raise MailboxConfigError(f"{where}: password_env (or password) is required")


def _mailbox(raw: dict, env: dict[str, str], seen: set[str]) -> Mailbox:
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > 100:
        raise MailboxConfigError("mailbox.name: required, at most 100 characters")
    if name in seen:
        raise MailboxConfigError(f"mailbox {name}: the name is used twice")
    where = f"mailbox {name}"
    for key in ("host", "username", "post"):
        if not str(raw.get(key) or "").strip():
            raise MailboxConfigError(f"{where}: {key} is required")
    security = raw.get("security", "tls")
    if security not in SECURITY:
        raise MailboxConfigError(f"{where}: security must be one of {', '.join(SECURITY)}")
    if security == "plain" and not _loopback(str(raw["host"])):
        raise MailboxConfigError(f"{where}: security = plain is allowed only on loopback; "
                                 "use tls or starttls")
    after = raw.get("after", "keep")
    if after not in AFTER:
        raise MailboxConfigError(f"{where}: after must be one of {', '.join(AFTER)}")
    if after == "move" and not raw.get("move_to"):
        raise MailboxConfigError(f"{where}: after = move needs move_to")
    password = _password(raw, env, where)
    port = raw.get("port", 143 if security != "tls" else 993)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise MailboxConfigError(f"{where}: port must be a number from 1 to 65535")
    return Mailbox(name=name, host=str(raw["host"]), port=port, security=security,
                   username=str(raw["username"]), password=password, post=str(raw["post"]),
                   folder=str(raw.get("folder") or "INBOX"), after=after,
                   move_to=raw.get("move_to"), ca_file=raw.get("ca_file"),
                   timeout=float(raw.get("timeout", 30.0)))


def load(path: Path | str | None, env: dict[str, str] | None = None) -> IntakeConfig:
    """The configured mailboxes; none when no file is named."""
    if not path:
        return IntakeConfig(())
    env = dict(os.environ if env is None else env)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MailboxConfigError(f"SANCHIKA_MAILBOXES: cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MailboxConfigError(f"SANCHIKA_MAILBOXES: {path} is not valid TOML: {exc}"
                                 ) from None
    seen: set[str] = set()
    boxes = []
    for raw in data.get("mailbox", []):
        box = _mailbox(raw, env, seen)
        seen.add(box.name)
        boxes.append(box)
    poll = data.get("poll_seconds", DEFAULT_POLL_SECONDS)
    if not isinstance(poll, int | float) or poll <= 0:
        raise MailboxConfigError("poll_seconds: must be a number greater than 0")
    return IntakeConfig(tuple(boxes), float(poll))
