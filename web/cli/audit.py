"""Audit commands of `sanchika`: checkpoint, keys export, replay, export, and
`verify --export` (offline, no database)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.app import Sanchika

Command = Callable[[argparse.Namespace], int]


def _service() -> Sanchika:
    from web.cli.main import _service as make

    return make()


def cmd_checkpoint(args: argparse.Namespace) -> int:
    app = _service()
    try:
        cp = app.checkpoint()
    finally:
        app.db.dispose()
    print(f"checkpoint #{cp['seq']} at {cp['at']}: {cp['instances']} chain head(s) moved, "
          f"{cp['events']} events in all, hash {cp['hash']}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    app = _service()
    try:
        written = app.export_public_keys(Path(args.dest))
    finally:
        app.db.dispose()
    for path in written:
        print(path)
    print(f"{len(written)} public key(s) written to {args.dest} (index: keys.json)")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from engine.audit.replay import summary

    app = _service()
    try:
        view = app.replay_any(args.id, args.at, args.receipt)
    finally:
        app.db.dispose()
    print(json.dumps(view, ensure_ascii=False, indent=1) if args.json else summary(view))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    app = _service()
    try:
        ref = args.file_id
        file_id = int(ref) if ref.isdigit() else app.replay_any(ref, None, False)["id"]
        file_no, data = app.export_file(None, file_id)
    finally:
        app.db.dispose()
    Path(args.dest).write_bytes(data)
    print(f"file {file_no} exported to {args.dest} ({len(data)} bytes)")
    return 0


def verify_export(path: str) -> int:
    from engine.audit.export import check

    label, problems = check(path)
    if problems:
        for problem in problems:
            print(problem)
        print(f"verify: {len(problems)} problem(s) in the export of {label}", file=sys.stderr)
        return 1
    print(f"verified: the export of {label} is intact (chain, signatures, content, documents)")
    return 0


def register(sub: argparse._SubParsersAction) -> dict[str, Command]:
    sub.add_parser("checkpoint", help="record a checkpoint over every history chain now")
    keys = sub.add_parser("keys", help="users' signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_export = keys_sub.add_parser("export", help="write every public key (PEM) to DIR")
    keys_export.add_argument("dest", metavar="DIR")
    replay = sub.add_parser("replay", help="a file (or receipt) as of an event of its history")
    replay.add_argument("id", help="file id or number (with --receipt: receipt id or diary no)")
    replay.add_argument("--at", type=int, default=None, metavar="EVENT",
                        help="event number (default: the newest)")
    replay.add_argument("--receipt", action="store_true", help="ID names a receipt")
    replay.add_argument("--json", action="store_true", help="print JSON")
    export = sub.add_parser("export", help="a verifiable export (zip) of one file")
    export.add_argument("file_id", help="file id or number")
    export.add_argument("dest", metavar="DEST.zip")
    return {"checkpoint": cmd_checkpoint, "keys": cmd_keys, "replay": cmd_replay,
            "export": cmd_export}
