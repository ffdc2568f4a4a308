"""Telling the administrators when the installation needs them: a failing (or too old)
scheduled backup, and a growing outbox backlog. Each incident notifies once: its event key
names the incident (the last good backup it follows; the oldest stuck message), and the
outbox never writes one event key twice. Run every minute by the scheduler's lease holder."""

from __future__ import annotations

import logging

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.notify import notices
from engine.ops import backup_schedule
from engine.ops.health import backup_age_seconds
from engine.store.db import Database
from engine.store.models import OutboxMessage, User

log = logging.getLogger(__name__)
JOB = "sanchika-alerts"


def admins(s: Session) -> list[User]:
    return list(s.scalars(select(User).where(User.role == "admin", User.active.is_(True))))


def check(settings: Settings, db: Database) -> list[str]:
    """Raise the notices that are due; returns the incident keys found (notified or not)."""
    found = []
    if settings.backup_dir is not None:
        status = backup_schedule.read_status(settings)
        age = backup_age_seconds(settings)
        too_old = age is not None and age > settings.backup_max_age_hours * 3600
        if status and (status.get("ok") is False or too_old):
            since = (status.get("last_success") or {}).get("at") or "never"
            found.append(f"ops:backup_failed:{since}")
            _notify(db, found[-1], "backup_failed", error=status.get("error") or
                    f"no good backup for {(age or 0) / 3600:.1f} h",
                    destination=str(settings.backup_dir))
    with db.reader() as s:
        backlog = s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status.in_(("pending", "sending")))) or 0
        oldest = s.scalar(select(func.min(OutboxMessage.id)).where(
            OutboxMessage.status.in_(("pending", "sending"))))
    if backlog >= settings.outbox_alert:
        found.append(f"ops:outbox_backlog:{oldest}")
        _notify(db, found[-1], "outbox_backlog", count=backlog)
    return found


def _notify(db: Database, key: str, message: str, **params: object) -> None:
    log.warning("alert %s: %s", key, params)
    with db.transaction() as s:
        notices.send(s, key, admins(s), message, **params)


def install(scheduler: BaseScheduler, settings: Settings, db: Database) -> None:
    _targets[settings.database_url] = (settings, db)
    scheduler.add_job(f"{__name__}:run", "interval", minutes=1, id=JOB,
                      args=[settings.database_url], replace_existing=True)


_targets: dict[str, tuple[Settings, Database]] = {}


def run(key: str) -> None:
    target = _targets.get(key)
    if target is None:
        return
    try:
        check(*target)
    except Exception:  # an alert check must never stop the scheduler
        log.exception("alert check failed")
