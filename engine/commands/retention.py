"""Retention actions of the service layer (a mixin of `Sanchika`): pruning rows nothing
reads any more (engine/ops/retention.py)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.commands.executor import CommandRunner
from engine.domain import org
from engine.ops import retention

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.config import Settings
    from engine.store.db import Database
    from engine.store.models import User


class RetentionServices(CommandRunner):
    settings: Settings
    db: Database

    def prune(self, actor: User | None = None, *, dry_run: bool = False,
              now: datetime | None = None, stop: Callable[[], bool] | None = None
              ) -> dict[str, Any]:
        """Remove (or with `dry_run` only count) what the retention settings let go. A
        person asking must be an admin; the scheduler and the CLI ask as the system."""
        if actor is not None:
            org.require_role(actor, "admin")
        policy = retention.Policy.of(self.settings)
        if dry_run:
            return {"dry_run": True, "would_remove": retention.count(self.db, policy, now)}
        removed = retention.prune(self.db, self.command, policy, now=now,
                                  actor=actor.username if actor else "system", stop=stop)
        return {"dry_run": False, "removed": removed}
