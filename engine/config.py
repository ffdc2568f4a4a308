"""Settings: environment variables (SANCHIKA_*), over an optional TOML file.

docs/configuration.md lists every setting. The file is SANCHIKA_CONFIG, else
`<data dir>/sanchika.toml` when it exists; its keys are the variable names without the
prefix, in lower case (`database_url = "..."`). An environment variable wins over the file.
The data folder is created owner-only (0700) and so is every file written into it.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from engine.ops.backup_crypt import parse_recipients

PREFIX = "SANCHIKA_"
CONFIG_FILE = "sanchika.toml"
# Every setting read here (the file may hold only these); docs/configuration.md explains them.
KNOWN = ("DATA_DIR", "DATABASE_URL", "SECRET_KEY", "SMTP_URL", "SMS_URL", "SLA_DEFAULT",
         "MAX_UPLOAD_MB", "CHECKPOINT_MINUTES", "BACKUP_DIR", "BACKUP_MINUTES", "BACKUP_KEEP",
         "BACKUP_MAX_AGE_HOURS", "TRUSTED_PROXIES", "HTTPS", "HSTS_SECONDS", "METRICS_TOKEN",
         "OUTBOX_ALERT", "LOG_LEVEL", "LOG_FORMAT", "MAILBOXES", "OCR_SECONDS",
         "INSTALLATION_NAME", "TOKEN_HOURS", "IDLE_MINUTES", "SESSION_HOURS",
         "REVIEW_SCHEDULE", "BACKUP_RECIPIENTS", "PASSKEY_APPROVALS",
         "SCRIPT_CPU_SECONDS", "SCRIPT_MEMORY_MB", "SCRIPT_WORKERS",
         "RETENTION_OUTBOX_DAYS", "RETENTION_TASK_DAYS", "RETENTION_TIMER_DAYS",
         "RETENTION_SCHEDULE")

# The longest window a report reads closed tasks over: time at desk and adoption reach
# back up to 24 months of 31 days (engine/read/monitoring.py, web/pages/monitor.py).
REPORT_WINDOW_DAYS = 31 * 24


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str
    smtp_url: str | None
    sms_url: str | None
    sla_default: str | None
    max_bpmn_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    checkpoint_minutes: float = 60.0  # SANCHIKA_CHECKPOINT_MINUTES; 0 turns the job off
    backup_dir: Path | None = None  # SANCHIKA_BACKUP_DIR: `serve` ships a backup there
    backup_minutes: float = 15.0  # SANCHIKA_BACKUP_MINUTES: the recovery point
    backup_keep: int = 96  # SANCHIKA_BACKUP_KEEP: snapshots kept there
    backup_max_age_hours: float = 24.0  # older than this: /ready, doctor and an alert say so
    # SANCHIKA_BACKUP_RECIPIENTS: age public keys every backup is encrypted to (the private
    # identity is kept away from the server: engine/ops/backup_crypt.py)
    backup_recipients: tuple[str, ...] = ()
    trusted_proxies: int = 0  # proxies in front whose X-Forwarded-* headers are believed
    https: bool = False  # served over HTTPS (by the proxy): Secure cookies and HSTS
    hsts_seconds: int = 31536000
    metrics_token: str | None = None  # /metrics needs "Authorization: Bearer <token>"
    outbox_alert: int = 100  # undelivered messages that raise an admin notice
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    config_file: Path | None = None  # the TOML file read, if any
    api_token_hours: float = 12.0  # SANCHIKA_TOKEN_HOURS: an API token's life
    idle_minutes: float = 30.0  # SANCHIKA_IDLE_MINUTES: a web session ends after this idle
    session_hours: float = 12.0  # SANCHIKA_SESSION_HOURS: and after this in any case
    mailboxes_file: Path | None = None  # SANCHIKA_MAILBOXES: e-mail diarisation (TOML)
    ocr_seconds: float = 10.0  # SANCHIKA_OCR_SECONDS: how often stored PDFs are read; 0 off
    installation_name: str = "sanchika"  # SANCHIKA_INSTALLATION_NAME: name partners know
    # SANCHIKA_REVIEW_SCHEDULE: when the weekly review goes out, e.g. "mon 09:30" (office
    # time, IST); "off" turns it off
    review_schedule: str = "mon 09:30"
    # SANCHIKA_PASSKEY_APPROVALS: "allowed" (an approval is signed with the officer's
    # passkey when they have one, else with the server-held key, marked as a fallback) or
    # "required" (no approval of a file or a draft without a passkey assertion)
    passkey_approvals: str = "allowed"
    # BPMN script tasks run in worker processes under these limits (docs/designing.md)
    script_cpu_seconds: float = 2.0  # SANCHIKA_SCRIPT_CPU_SECONDS: CPU time per script
    script_memory_mb: int = 256  # SANCHIKA_SCRIPT_MEMORY_MB: a worker's address space
    script_workers: int = 2  # SANCHIKA_SCRIPT_WORKERS: scripts running at once
    # Retention (engine/ops/retention.py), in days; 0 keeps those rows for ever.
    retention_outbox_days: float = 90.0  # delivered messages, older notifications
    retention_task_days: float = 800.0  # closed tasks: at least the longest report window
    retention_timer_days: float = 90.0  # fired and cancelled timers
    # SANCHIKA_RETENTION_SCHEDULE: when the daily prune runs (office time), or "off"
    retention_schedule: str = "02:30"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        raw, config_file = merged(env)
        data_dir = Path(raw.get("DATA_DIR") or "instance").resolve()
        make_private_dir(data_dir)
        url = raw.get("DATABASE_URL") or f"sqlite:///{data_dir / 'sanchika.db'}"
        return cls(
            data_dir=data_dir,
            database_url=url,
            secret_key=raw.get("SECRET_KEY") or _stored_secret(data_dir),
            smtp_url=raw.get("SMTP_URL") or None,
            sms_url=raw.get("SMS_URL") or None,
            sla_default=raw.get("SLA_DEFAULT") or None,
            max_upload_bytes=int(_number(raw, "MAX_UPLOAD_MB", 20) * 1024 * 1024),
            checkpoint_minutes=_number(raw, "CHECKPOINT_MINUTES", 60.0, zero_allowed=True),
            backup_dir=Path(raw["BACKUP_DIR"]).resolve() if raw.get("BACKUP_DIR") else None,
            backup_minutes=_number(raw, "BACKUP_MINUTES", 15.0),
            backup_keep=int(_number(raw, "BACKUP_KEEP", 96)),
            backup_max_age_hours=_number(raw, "BACKUP_MAX_AGE_HOURS", 24.0),
            backup_recipients=parse_recipients(raw.get("BACKUP_RECIPIENTS")),
            trusted_proxies=int(_number(raw, "TRUSTED_PROXIES", 0, zero_allowed=True)),
            https=_flag(raw, "HTTPS"),
            hsts_seconds=int(_number(raw, "HSTS_SECONDS", 31536000, zero_allowed=True)),
            metrics_token=raw.get("METRICS_TOKEN") or None,
            outbox_alert=int(_number(raw, "OUTBOX_ALERT", 100)),
            log_level=_choice(raw, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
            log_format=_choice(raw, "LOG_FORMAT", ("text", "json"), "text"),
            config_file=config_file,
            api_token_hours=_number(raw, "TOKEN_HOURS", 12.0),
            idle_minutes=_number(raw, "IDLE_MINUTES", 30.0),
            session_hours=_number(raw, "SESSION_HOURS", 12.0),
            mailboxes_file=Path(raw["MAILBOXES"]).resolve() if raw.get("MAILBOXES") else None,
            ocr_seconds=_number(raw, "OCR_SECONDS", 10.0, zero_allowed=True),
            installation_name=(raw.get("INSTALLATION_NAME") or "sanchika").strip(),
            review_schedule=raw.get("REVIEW_SCHEDULE") or "mon 09:30",
            passkey_approvals=_choice(raw, "PASSKEY_APPROVALS", ("allowed", "required"),
                                      "allowed"),
            script_cpu_seconds=_number(raw, "SCRIPT_CPU_SECONDS", 2.0),
            script_memory_mb=int(_number(raw, "SCRIPT_MEMORY_MB", 256)),
            script_workers=int(_number(raw, "SCRIPT_WORKERS", 2)),
            retention_outbox_days=_number(raw, "RETENTION_OUTBOX_DAYS", 90.0, zero_allowed=True),
            retention_task_days=_task_days(raw),
            retention_timer_days=_number(raw, "RETENTION_TIMER_DAYS", 90.0, zero_allowed=True),
            retention_schedule=raw.get("RETENTION_SCHEDULE") or "02:30",
        )


def merged(env: dict[str, str]) -> tuple[dict[str, str], Path | None]:
    """The settings by short name (DATA_DIR...): the TOML file's, then the environment's."""
    from_env = {k[len(PREFIX):]: v for k, v in env.items() if k.startswith(PREFIX) and v}
    named = from_env.get("CONFIG")
    if named:
        if not Path(named).is_file():
            raise ValueError(f"SANCHIKA_CONFIG: no such file {named!r}")
        path: Path | None = Path(named)
    else:
        folder = Path(from_env.get("DATA_DIR") or "instance")
        path = folder / CONFIG_FILE if (folder / CONFIG_FILE).is_file() else None
    raw: dict[str, str] = {}
    if path is not None:
        raw = read_toml(path)
    raw.update(from_env)
    return raw, path.resolve() if path else None


def read_toml(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    out: dict[str, str] = {}
    for key, value in data.items():
        name = key.upper()
        if name not in KNOWN:
            raise ValueError(f"{path}: unknown setting {key!r} "
                             "(see docs/configuration.md for the list)")
        if isinstance(value, dict | list):
            raise ValueError(f"{path}: {key} must be a single value")
        out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _number(raw: dict[str, str], name: str, default: float, *, zero_allowed: bool = False
            ) -> float:
    """A numeric setting; refused at start-up if it is not a number or out of range."""
    value_text = raw.get(name)
    if not value_text:
        return default
    try:
        value = float(value_text)
    except ValueError:
        raise ValueError(f"{PREFIX}{name} must be a number, not {value_text!r}") from None
    if value < 0 or (value == 0 and not zero_allowed):
        bound = "0 (off) or more" if zero_allowed else "greater than 0"
        raise ValueError(f"{PREFIX}{name} must be {bound}, not {value_text!r}")
    return value


def _task_days(raw: dict[str, str]) -> float:
    """Closed tasks are kept at least as long as the longest report window reads them."""
    days = _number(raw, "RETENTION_TASK_DAYS", 800.0, zero_allowed=True)
    if 0 < days < REPORT_WINDOW_DAYS:
        raise ValueError(f"{PREFIX}RETENTION_TASK_DAYS must be 0 (keep for ever) or at least "
                         f"{REPORT_WINDOW_DAYS} (the longest report window), not {days:g}")
    return days


def _choice(raw: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (raw.get(name) or default).strip()
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise ValueError(f"{PREFIX}{name} must be one of {', '.join(allowed)}, not {value!r}")


def _flag(raw: dict[str, str], name: str) -> bool:
    value = (raw.get(name) or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{PREFIX}{name} must be true or false, not {raw[name]!r}")


def make_private_dir(path: Path) -> Path:
    """A folder only its owner may enter (0700), created with its parents if missing."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: bytes | str) -> None:
    """Write a file readable by its owner only (0600), whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    path.chmod(0o600)


def _stored_secret(data_dir: Path) -> str:
    """A secret generated once into the data folder, so restarts keep sessions valid."""
    path = data_dir / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()
