"""Shipping a backup to a second location every N minutes (`sanchika serve` with
SANCHIKA_BACKUP_DIR set): a durable APScheduler job, the first run at start-up.

The outcome of every run goes to the log and to `<data dir>/last_backup.json`, which keeps
the last success next to the last failure, so a monitor (or a person) sees at once how old
the newest good copy is.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from engine.config import Settings, write_private
from engine.ops.backup import backup

log = logging.getLogger(__name__)
JOB = "sanchika-backup-ship"
STATUS_FILE = "last_backup.json"
_settings: dict[str, Settings] = {}


def install(scheduler: BaseScheduler, settings: Settings) -> None:
    """Add (or, with no SANCHIKA_BACKUP_DIR, remove) the shipping job."""
    if settings.backup_dir is None:
        if scheduler.get_job(JOB) is not None:
            scheduler.remove_job(JOB)
        return
    key = settings.database_url
    _settings[key] = settings
    scheduler.add_job(f"{__name__}:ship", "interval", minutes=settings.backup_minutes,
                      id=JOB, args=[key], replace_existing=True,
                      next_run_time=datetime.now(UTC))
    log.info("backups to %s every %g minutes, keeping %d", settings.backup_dir,
             settings.backup_minutes, settings.backup_keep)
    if not settings.backup_recipients:
        log.warning("scheduled backups are not encrypted: set SANCHIKA_BACKUP_RECIPIENTS "
                    "(`sanchika backup-keygen`)%s",
                    "; they are refused while SANCHIKA_HTTPS is on" if settings.https else "")


def ship(key: str) -> None:
    settings = _settings.get(key)
    if settings is not None:
        ship_now(settings)


def ship_now(settings: Settings) -> dict[str, Any]:
    """One scheduled backup into SANCHIKA_BACKUP_DIR, pruned to SANCHIKA_BACKUP_KEEP; its
    outcome is logged and written to the status file (never raised: the job goes on)."""
    if settings.backup_dir is None:
        raise ValueError("SANCHIKA_BACKUP_DIR is not set")
    now = datetime.now(UTC).isoformat()
    status = read_status(settings)
    try:
        result = backup(settings, settings.backup_dir, keep=settings.backup_keep)
    except Exception as exc:  # the job must survive any failure; it is reported instead
        log.exception("scheduled backup to %s failed", settings.backup_dir,
                      extra={"event": "backup_failed", "destination": str(settings.backup_dir)})
        status.update(ok=False, at=now, error=f"{type(exc).__name__}: "
                      f"{getattr(exc, 'message', None) or exc}")
    else:
        status = {"ok": True, "at": now, "last_success": {
            "at": now, "snapshot": str(result.snapshot), "seconds": round(result.seconds, 3),
            "database_bytes": result.database_bytes, "rows": result.rows,
            "uploads_copied": result.uploads_copied, "uploads_skipped": result.uploads_skipped,
            "pruned": len(result.pruned),
            "documents_without_upload": len(result.manifest["uploads"]["missing"])}}
        log.info("backup %s: %d rows, %d uploads copied, %.2f s", result.snapshot,
                 result.rows, result.uploads_copied, result.seconds,
                 extra={"event": "backup_done", "snapshot": str(result.snapshot),
                        "rows": result.rows, "uploads_copied": result.uploads_copied,
                        "seconds": round(result.seconds, 3)})
    status["destination"] = str(settings.backup_dir)
    status["every_minutes"] = settings.backup_minutes
    path = settings.data_dir / STATUS_FILE
    tmp = path.with_name(f".{STATUS_FILE}.tmp")
    write_private(tmp, json.dumps(status, indent=2))
    os.replace(tmp, path)
    return status


def read_status(settings: Settings) -> dict[str, Any]:
    try:
        return json.loads((settings.data_dir / STATUS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
