"""`sanchika doctor`: what an operator should fix before (or while) running Sanchika:
data-folder permissions, keys, the database and its migrations, the browser assets, the
mail server, IMAP mailboxes and Tesseract where configured, backups, the clock, and that an
administrator exists."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from engine.audit.keys import AuditKeys
from engine.config import Settings
from engine.ops import health, permissions
from engine.ops.health import Check
from engine.store.db import Database
from engine.store.models import User

NODE_MODULES = Path(__file__).resolve().parents[2] / "web" / "node_modules"
ASSETS = ("bpmn-js/dist/bpmn-modeler.production.min.js", "chart.js/dist/chart.umd.js",
          "@fontsource/noto-sans-devanagari/400.css", "swagger-ui-dist/swagger-ui-bundle.js")
CLOCK_SKEW_SECONDS = 5.0


def run(settings: Settings, db: Database) -> list[Check]:
    checks = [data_folder(settings), keys(settings)]
    reachable = health.database(db)
    checks.append(reachable)
    if reachable.ok:
        checks += [health.migrations(db), administrator(db), clock(db)]
    checks += [assets(), health.backup(settings), health.backup_encryption(settings)]
    if settings.smtp_url:
        checks.append(smtp(settings.smtp_url))
    if settings.mailboxes_file:
        checks += mailboxes(settings.mailboxes_file)
    if settings.ocr_seconds > 0:
        checks.append(tesseract())
    checks.append(serving(settings))
    return checks


def data_folder(settings: Settings) -> Check:
    found = permissions.loose(settings.data_dir)
    if found:
        shown = "; ".join(found[:5]) + (f" (and {len(found) - 5} more)" if len(found) > 5
                                        else "")
        return Check("permissions", False, f"readable by others: {shown}",
                     f"chmod -R go-rwx {settings.data_dir} (or run `sanchika init`, which "
                     "tightens it)")
    return Check("permissions", True, f"{settings.data_dir} is owner-only")


def keys(settings: Settings) -> Check:
    store = AuditKeys(settings.data_dir)
    path = store.master_path
    if not path.is_file():
        return Check("keys", True, f"no audit key yet at {path}: made at the first "
                     "checkpoint or signed approval (back it up then)", critical=False)
    if path.stat().st_size != 32:
        return Check("keys", False, f"{path} is not a 32-byte audit key",
                     "restore it from the backup: without it no signature can be checked")
    return Check("keys", True, f"audit key {path} present")


def administrator(db: Database) -> Check:
    with db.reader() as s:
        admins = s.scalar(select(func.count()).select_from(User).where(
            User.role == "admin", User.active.is_(True)))
    if not admins:
        return Check("administrator", False, "no active administrator",
                     "run `sanchika admin create USERNAME`")
    return Check("administrator", True, f"{admins} active administrator(s)")


def clock(db: Database) -> Check:
    if db.write_engine.dialect.name != "postgresql":
        return Check("clock", True, f"UTC now {datetime.now(UTC):%Y-%m-%d %H:%M:%S} "
                     "(embedded database: one clock)")
    with db.write_engine.connect() as conn:
        server = conn.execute(text("SELECT now()")).scalar_one()
    skew = abs((server - datetime.now(UTC)).total_seconds())
    if skew > CLOCK_SKEW_SECONDS:
        return Check("clock", False, f"this host and the database differ by {skew:.1f} s",
                     "synchronise both clocks (NTP): due times and the scheduler lease "
                     "depend on them")
    return Check("clock", True, f"within {skew:.1f} s of the database server")


def assets(folder: Path = NODE_MODULES) -> Check:
    missing = [a for a in ASSETS if not (folder / a).is_file()]
    if missing:
        return Check("browser assets", False, f"missing in {folder}: {', '.join(missing)}",
                     "run `npm ci` in web/ (scripts/run does it)")
    return Check("browser assets", True, "bpmn-js, Chart.js, fonts and Swagger UI present")


def smtp(url: str) -> Check:
    from engine.notify.delivery import SmtpTarget

    target = SmtpTarget.parse(url)
    try:
        with socket.create_connection((target.host, target.port), timeout=5):
            pass
    except OSError as exc:
        return Check("mail", False, f"cannot reach {target.host}:{target.port}: {exc}",
                     "check SANCHIKA_SMTP_URL and the firewall", critical=False)
    return Check("mail", True, f"mail server {target.host}:{target.port} answers")


def _reachable(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as exc:
        return str(exc)


def mailboxes(path: Path) -> list[Check]:
    """The IMAP mailboxes of e-mail diarisation (SANCHIKA_MAILBOXES): readable, and each
    server answering."""
    from engine.intake.config import MailboxConfigError, load

    try:
        config = load(path)
    except MailboxConfigError as exc:
        return [Check("mailboxes", False, str(exc), f"correct {path} (docs/dak-intake.md)")]
    out = []
    for box in config.mailboxes:
        problem = _reachable(box.host, box.port)
        out.append(Check(f"mailbox {box.name}", problem is None,
                         f"{box.host}:{box.port} " + (f"unreachable: {problem}" if problem
                                                      else "answers"),
                         None if problem is None else "check the host, port and firewall",
                         critical=False))
    return out or [Check("mailboxes", True, f"{path}: no mailbox configured", critical=False)]


def tesseract() -> Check:
    """Tesseract with Hindi and English, for scanned letters without a text layer."""
    from engine.ocr import tesseract as ocr

    found = ocr.status(fresh=True)
    return Check("tesseract", found.available,
                 found.message + (f" ({found.version})" if found.version else ""),
                 None if found.available else "apt-get install tesseract-ocr tesseract-ocr-hin "
                 "tesseract-ocr-eng (or set SANCHIKA_OCR_SECONDS=0)", critical=False)


def serving(settings: Settings) -> Check:
    if not settings.https:
        return Check("https", True, "SANCHIKA_HTTPS is off: cookies are not marked Secure; "
                     "set it when a TLS proxy serves Sanchika (docs/deployment.md)",
                     critical=False)
    proxies = settings.trusted_proxies
    detail = f"Secure cookies and HSTS on; {proxies} trusted proxy(ies)"
    if proxies == 0:
        return Check("https", False, detail, "set SANCHIKA_TRUSTED_PROXIES=1 behind one "
                     "proxy, or client addresses (sign-in throttling, logs) are the proxy's",
                     critical=False)
    return Check("https", True, detail)
