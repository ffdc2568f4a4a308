"""Settings read from the environment (CONTRACT.md names them)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


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
    mailboxes_file: Path | None = None  # SANCHIKA_MAILBOXES: e-mail diarisation (TOML)
    ocr_seconds: float = 10.0  # SANCHIKA_OCR_SECONDS: how often stored PDFs are read; 0 off
    installation_name: str = "sanchika"  # SANCHIKA_INSTALLATION_NAME: name partners know

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("SANCHIKA_DATA_DIR") or "instance").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        url = env.get("SANCHIKA_DATABASE_URL") or f"sqlite:///{data_dir / 'sanchika.db'}"
        return cls(
            data_dir=data_dir,
            database_url=url,
            secret_key=env.get("SANCHIKA_SECRET_KEY") or _stored_secret(data_dir),
            smtp_url=env.get("SANCHIKA_SMTP_URL") or None,
            sms_url=env.get("SANCHIKA_SMS_URL") or None,
            sla_default=env.get("SANCHIKA_SLA_DEFAULT") or None,
            max_upload_bytes=int(_number(env, "SANCHIKA_MAX_UPLOAD_MB", 20) * 1024 * 1024),
            checkpoint_minutes=_number(env, "SANCHIKA_CHECKPOINT_MINUTES", 60.0,
                                       zero_allowed=True),
            backup_dir=Path(env["SANCHIKA_BACKUP_DIR"]).resolve()
            if env.get("SANCHIKA_BACKUP_DIR") else None,
            backup_minutes=_number(env, "SANCHIKA_BACKUP_MINUTES", 15.0),
            backup_keep=int(_number(env, "SANCHIKA_BACKUP_KEEP", 96)),
            ocr_seconds=_number(env, "SANCHIKA_OCR_SECONDS", 10.0, zero_allowed=True),
            installation_name=(env.get("SANCHIKA_INSTALLATION_NAME") or "sanchika").strip(),
            mailboxes_file=Path(env["SANCHIKA_MAILBOXES"]).resolve()
            if env.get("SANCHIKA_MAILBOXES") else None,
        )


def _number(env: dict[str, str], name: str, default: float, *, zero_allowed: bool = False
            ) -> float:
    """A numeric setting; refused at start-up if it is not a number or out of range."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0 or (value == 0 and not zero_allowed):
        bound = "0 (off) or more" if zero_allowed else "greater than 0"
        raise ValueError(f"{name} must be {bound}, not {raw!r}")
    return value


def _stored_secret(data_dir: Path) -> str:
    """A secret generated once into the data folder, so restarts keep sessions valid."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
