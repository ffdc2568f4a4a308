"""`sanchika prune [--dry-run]`: remove the rows nothing reads any more (delivered
messages, old closed tasks, fired and cancelled timers) after the retention settings
(docs/operations.md, "Retention"); the server also does it daily."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

WHAT = {"outbox": "delivered e-mail/SMS", "notifications": "in-app notifications",
        "tasks": "closed tasks", "timers": "fired/cancelled timers"}


def cmd_prune(args: argparse.Namespace) -> int:
    from web.cli.main import _service

    app = _service()
    try:
        result = app.prune(dry_run=args.dry_run)
    finally:
        app.db.dispose()
    counts = result["would_remove"] if args.dry_run else result["removed"]
    verb = "would remove" if args.dry_run else "removed"
    print(f"prune: {verb} " + ", ".join(f"{counts[k]} {label}" for k, label in WHAT.items()))
    return 0


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    prune = sub.add_parser("prune", help="remove delivered messages, old closed tasks and "
                                         "old fired/cancelled timers after the retention "
                                         "settings (the history is kept)")
    prune.add_argument("--dry-run", action="store_true",
                       help="only count what would be removed")
    return {"prune": cmd_prune}
