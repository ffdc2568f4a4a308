"""Monitoring reports (a mixin of Sanchika): read-only, each in one read transaction;
what an actor may see is decided in engine/read/monitoring.py (scope_posts) and, for
single items, engine/domain/visibility.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.read import monitoring
from engine.store.models import User, utcnow

if TYPE_CHECKING:
    from engine.store.db import Database


class MonitorServices:
    db: Database

    def monitor_pendency(self, actor: User, office: str | None = None,
                         section: int | None = None) -> dict[str, Any]:
        with self.db.reader() as s:
            return monitoring.pendency(s, actor, utcnow(), office=office, section=section)

    def monitor_items(self, actor: User, **level: Any) -> dict[str, Any]:
        with self.db.reader() as s:
            return monitoring.items(s, actor, utcnow(), **level)

    def monitor_where(self, actor: User, number: str) -> dict[str, Any]:
        with self.db.reader() as s:
            return monitoring.where(s, actor, utcnow(), number)

    def time_at_desk(self, actor: User, months: int = 6, post: int | None = None
                     ) -> dict[str, Any]:
        with self.db.reader() as s:
            return monitoring.time_at_desk(s, actor, utcnow(), months=months, post=post)

    def adoption(self, actor: User, months: int = 6) -> dict[str, Any]:
        with self.db.reader() as s:
            return monitoring.adoption(s, actor, utcnow(), months=months)
