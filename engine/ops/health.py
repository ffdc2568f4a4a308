"""Is this installation able to serve? The checks behind GET /ready, the metrics and
`sanchika doctor`: the database answers, its schema is at the newest migration, a server
process holds the scheduler lease, and the newest good backup is recent enough."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from engine.config import Settings
from engine.ops import backup_schedule
from engine.store import schema
from engine.store.db import Database
from engine.store.models import utcnow
from engine.store.sla_models import SchedulerLease


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    critical: bool = True  # a failing critical check makes /ready answer 503

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def database(db: Database) -> Check:
    try:
        with db.write_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        return Check("database", False, f"cannot connect: {type(exc).__name__}: {exc}"[:300],
                     "check SANCHIKA_DATABASE_URL and that the database server runs")
    return Check("database", True, db.write_engine.url.render_as_string(hide_password=True))


def migrations(db: Database) -> Check:
    # imported on first use, so that every process starts light (CLI, workers)
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(schema.alembic_config(db.write_engine)).get_heads())
    try:
        with db.write_engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        return Check("migrations", False, f"cannot read the schema version: {exc}"[:300],
                     "run `sanchika init`")
    if current != heads:
        return Check("migrations", False,
                     f"schema at {', '.join(sorted(current)) or 'nothing'}, "
                     f"code expects {', '.join(sorted(heads))}",
                     "run `sanchika init` (it upgrades the schema; take a backup first)")
    return Check("migrations", True, f"at head {', '.join(sorted(heads))}")


def lease(db: Database) -> Check:
    try:
        with db.reader() as s:
            row = s.get(SchedulerLease, "timers")
            holder = (row.holder, row.expires_at) if row is not None else None
    except Exception as exc:
        return Check("scheduler", False, f"cannot read the lease: {exc}"[:300])
    if holder is None or holder[1] <= utcnow():
        return Check("scheduler", False, "no server process holds the scheduler lease: "
                     "timers and scheduled jobs are not running",
                     "start `sanchika serve` (or check why it stopped)")
    return Check("scheduler", True, f"lease held by {holder[0]}")


def backup_age_seconds(settings: Settings, now: datetime | None = None) -> float | None:
    """Seconds since the last successful scheduled backup (None: never, or not configured)."""
    status = backup_schedule.read_status(settings)
    at = (status.get("last_success") or {}).get("at")
    if not at:
        return None
    return ((now or datetime.now(UTC)) - datetime.fromisoformat(at)).total_seconds()


def backup(settings: Settings) -> Check:
    if settings.backup_dir is None:
        return Check("backup", True, "no scheduled backup (SANCHIKA_BACKUP_DIR is not set)",
                     critical=False)
    status = backup_schedule.read_status(settings)
    age = backup_age_seconds(settings)
    limit = settings.backup_max_age_hours * 3600
    if age is None:
        return Check("backup", False, "no successful backup yet"
                     + (f"; last error: {status['error']}" if status.get("error") else ""),
                     f"check that {settings.backup_dir} is writable", critical=False)
    hours = age / 3600
    if age > limit or status.get("ok") is False:
        error = f"; last error: {status['error']}" if status.get("ok") is False else ""
        return Check("backup", age <= limit,
                     f"last good backup {hours:.1f} h ago{error}",
                     f"check {settings.backup_dir} and the server log", critical=False)
    return Check("backup", True, f"last good backup {hours:.1f} h ago", critical=False)


def backup_encryption(settings: Settings) -> Check:
    """Backups without SANCHIKA_BACKUP_RECIPIENTS are readable by whoever gets them (and
    refused where SANCHIKA_HTTPS is on): engine/ops/backup_crypt.py."""
    count = len(settings.backup_recipients)
    if count:
        return Check("backup encryption", True,
                     f"backups are encrypted (age) to {count} public key(s)", critical=False)
    refused = " and refused (SANCHIKA_HTTPS is on)" if settings.https else ""
    return Check("backup encryption", False,
                 f"backups are not encrypted{refused}: whoever gets one reads the database, "
                 "the documents and the signing keys",
                 "run `sanchika backup-keygen --out FILE` on another machine, keep FILE "
                 "there, and set SANCHIKA_BACKUP_RECIPIENTS to the public key it prints",
                 critical=False)


def readiness(settings: Settings, db: Database) -> list[Check]:
    first = database(db)
    if not first.ok:
        return [first]
    return [first, migrations(db), lease(db), backup(settings)]
