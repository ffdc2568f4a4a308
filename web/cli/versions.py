"""`sanchika versions`: list deployed versions, make one current (rollback), suspend or
resume one, and migrate running instances between versions (a dry run unless --apply).
The server operator acts as the administrator, as `sanchika deploy` does."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.errors import InvalidInput
from engine.store.models import User

Command = Callable[[argparse.Namespace], int]
OPERATOR = User(username="cli", role="admin")


def register(sub: argparse._SubParsersAction) -> dict[str, Command]:
    versions = sub.add_parser("versions", help="process versions: list, rollback, suspend, "
                              "migrate running instances")
    vs = versions.add_subparsers(dest="versions_command", required=True)
    vs.add_parser("list", help="every deployed version, which is current, which suspended")
    for name, text in (("current", "make this version the one new instances start on"),
                       ("suspend", "no new instances on this version; its timer start "
                                   "events wait"),
                       ("resume", "undo a suspension")):
        p = vs.add_parser(name, help=text)
        p.add_argument("process_id")
        p.add_argument("version", type=int)
    migrate = vs.add_parser("migrate", help="move the running instances of one version to "
                            "another (a dry run unless --apply)")
    migrate.add_argument("process_id")
    migrate.add_argument("from_version", type=int)
    migrate.add_argument("to_version", type=int)
    migrate.add_argument("--map", action="append", default=[], metavar="OLD=NEW",
                         help="a step of the running version lands on this step of the "
                              "target (repeatable; other steps keep their id)")
    migrate.add_argument("--apply", action="store_true",
                         help="really move them (one transaction per instance)")
    return {"versions": cmd_versions}


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput(f"--map {pair}: write OLD_STEP=NEW_STEP")
        mapping[old.strip()] = new.strip()
    return mapping


def cmd_versions(args: argparse.Namespace) -> int:
    app = Sanchika(Settings.from_env(), handlers.registry)
    try:
        command = args.versions_command
        if command == "list":
            for row in app.definitions_overview(OPERATOR):
                marks = [m for m, on in (("current", row["current"]),
                                         ("suspended", row["suspended"])) if on]
                print(f"{row['process_id']:<24} v{row['version']:<4} "
                      f"{row['running']:>6} running  {', '.join(marks)}")
            return 0
        if command == "current":
            app.make_current(OPERATOR, args.process_id, args.version)
            print(f"{args.process_id}: new instances start on version {args.version}")
            return 0
        if command in ("suspend", "resume"):
            app.suspend_version(OPERATOR, args.process_id, args.version,
                                suspended=command == "suspend")
            print(f"{args.process_id}: version {args.version} "
                  f"{'suspended' if command == 'suspend' else 'resumed'}")
            return 0
        result = app.migrate_instances(OPERATOR, args.process_id, args.from_version,
                                       args.to_version, _mapping(args.map),
                                       dry_run=not args.apply)
        _print_migration(result)
        return 0 if all(r["can_migrate"] for r in result["instances"]) else 1
    finally:
        app.db.dispose()


def _print_migration(result: dict[str, Any]) -> None:
    for row in result["instances"]:
        who = row.get("subject") or f"instance {row['instance_id']}"
        moves = ", ".join(f"{t['from']} -> {t['to'] or '?'}" for t in row["tokens"])
        state = "migrated" if row["migrated"] else "would move" if row["can_migrate"] \
            else "stays"
        print(f"{who}: {state}: {moves or 'no waiting step'}")
        for problem in row["problems"]:
            print(f"  cannot be mapped: {problem}")
    verb = "migrated" if not result["dry_run"] else "can be migrated (dry run; --apply)"
    count = result["migrated"] if not result["dry_run"] else result["movable"]
    print(f"{result['process_id']} v{result['from_version']} -> v{result['to_version']}: "
          f"{count} of {len(result['instances'])} running instance(s) {verb}")
