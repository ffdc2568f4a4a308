"""Operations commands: `sanchika admin create`, `sanchika doctor`, and the organisation
import behind `sanchika init --organisation FILE`."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.app import Sanchika
from engine.config import Settings, write_private
from engine.errors import SanchikaError


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and whatever a caller passed
    in `extra=` (e.g. the backup's snapshot and seconds), for a log collector."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in self.STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    """One line per record on stderr: readable text, or JSON for a log collector."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=getattr(logging, level, logging.INFO), handlers=[handler])
    # every 250 ms sweep and every schema-version read would otherwise log a line
    for noisy in ("apscheduler.executors.default", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def register(sub: Any) -> dict[str, Any]:
    admin = sub.add_parser("admin", help="administrators of a real organisation")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create", help="create an administrator (asks for the "
                                                 "password, or reads it)")
    create.add_argument("username")
    create.add_argument("--full-name", default=None)
    create.add_argument("--email", default=None)
    create.add_argument("--password-file", metavar="PATH",
                        help="read the password from this file's first line ('-': stdin)")
    sub.add_parser("doctor", help="check permissions, keys, database, migrations, assets, "
                                  "backups and clock, and say what to fix")
    return {"admin": cmd_admin, "doctor": cmd_doctor}


def _read_password(args: argparse.Namespace) -> str:
    # "-" names standard input, not a password
    if args.password_file == "-" or (args.password_file is None and not sys.stdin.isatty()):  # noqa: S105
        return sys.stdin.readline().rstrip("\r\n")
    if args.password_file:
        return Path(args.password_file).read_text(encoding="utf-8").splitlines()[0]
    first = getpass.getpass(f"Password for {args.username}: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_admin(args: argparse.Namespace) -> int:
    import handlers
    from engine.ops.admin import create_admin

    app = Sanchika(Settings.from_env(), handlers.registry)
    app.init()
    password = _read_password(args)
    user = create_admin(app.db, args.username, password, args.full_name, args.email)
    print(f"administrator {user.username} created; sign in at /login")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    import handlers
    from engine.ops import doctor

    settings = Settings.from_env()
    app = Sanchika(settings, handlers.registry)
    try:
        checks = doctor.run(settings, app.db)
    finally:
        app.db.dispose()
    failed = 0
    for check in checks:
        word = "ok  " if check.ok else ("FAIL" if check.critical else "warn")
        failed += not check.ok and check.critical
        print(f"{word} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"     fix: {check.fix}")
    if settings.config_file:
        print(f"(settings file: {settings.config_file})")
    print(f"doctor: {failed} problem(s) to fix" if failed else "doctor: nothing to fix")
    return 1 if failed else 0


def import_organisation_file(app: Sanchika, path: Path) -> int:
    from engine.ops.org_import import import_organisation

    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 1
    try:
        result = import_organisation(app.db, path.read_text(encoding="utf-8-sig"))
    except SanchikaError as exc:
        print(f"error: {path}: nothing imported: {len(exc.details)} problem(s)",
              file=sys.stderr)
        for d in exc.details:
            print(f"  {path}:{d['row']}: {d['column'] or 'line'}: {d['message']}",
                  file=sys.stderr)
        return 1
    print(f"imported {result.departments} department(s), {result.offices} office(s), "
          f"{result.sections} section(s), {result.posts} post(s), {result.users} user(s)")
    if result.passwords:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = app.settings.data_dir / f"initial-passwords-{stamp}.csv"
        lines = [["username", "password"], *sorted(result.passwords.items())]
        text = "".join(",".join(row) + "\n" for row in lines)
        write_private(out, text)
        print(f"first passwords of {len(result.passwords)} user(s) without one in the file: "
              f"{out} (owner-only; hand them over, then delete the file)")
    return 0
