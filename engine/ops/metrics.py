"""Prometheus metrics (prometheus_client): what the service did (actions by kind, their
latency, counted in this process) and what state it is in (open tasks, overdue items, the
outbox, timer lag, backup age, read from the database at each scrape, so every process
reports the same figures)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from engine import __version__
from engine.config import Settings
from engine.ops.health import backup_age_seconds
from engine.store.db import Database
from engine.store.models import OpenTask, OutboxMessage, Timer, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The service commands counted as actions; `act` is counted by its action (forward...).
COMMANDS = ("act", "diarise", "diarise_from", "open_file", "add_note", "deploy", "pullback",
            "request_reopen", "create_draft", "approve_draft", "dispatch_draft", "link_files",
            "open_part_file", "park_file", "unpark_file", "digitise", "change_priority",
            "transfer", "add_charge", "create_user", "create_post", "create_section")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StateCollector(Collector):
    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.db.reader() as s:
            open_tasks = s.scalar(select(func.count()).select_from(OpenTask)
                                  .where(OpenTask.closed_at.is_(None)))
            overdue = s.scalar(select(func.count()).select_from(OpenTask).where(
                OpenTask.closed_at.is_(None), OpenTask.due_at < now))
            outbox = dict(s.execute(select(OutboxMessage.status, func.count())
                                    .group_by(OutboxMessage.status)).all())
            oldest_due = s.scalar(select(func.min(Timer.due_at)).where(
                Timer.status == "pending", Timer.due_at <= now))
        yield _gauge("sanchika_open_tasks", "Open tasks in all inboxes", open_tasks or 0)
        yield _gauge("sanchika_overdue_items", "Open tasks past their due time", overdue or 0)
        yield _gauge("sanchika_outbox_backlog", "Messages waiting to be delivered",
                     outbox.get("pending", 0) + outbox.get("sending", 0))
        yield _gauge("sanchika_outbox_failed", "Messages given up after every retry",
                     outbox.get("failed", 0))
        lag = (now - oldest_due).total_seconds() if oldest_due is not None else 0.0
        yield _gauge("sanchika_timer_lag_seconds",
                     "How late the oldest due, not yet fired timer is", lag)
        age = backup_age_seconds(self.settings)
        if age is not None:
            yield _gauge("sanchika_backup_age_seconds",
                         "Seconds since the last successful scheduled backup", age)
        info = GaugeMetricFamily("sanchika_build_info", "The running version",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value or 0))


class Metrics:
    def __init__(self, settings: Settings, db: Database):
        self.registry = CollectorRegistry(auto_describe=False)
        self.actions = Counter("sanchika_actions", "Actions done, by kind and outcome",
                               ["kind", "outcome"], registry=self.registry)
        self.latency = Histogram("sanchika_action_seconds", "Time an action took, by kind",
                                 ["kind"], buckets=BUCKETS, registry=self.registry)
        self.registry.register(StateCollector(settings, db))
        self._kinds: set[str] = set(COMMANDS)

    def observe(self, kind: str, seconds: float, ok: bool) -> None:
        # A refused action may name anything: its kind is kept only once one succeeded,
        # so a caller cannot make new time series at will.
        if ok:
            self._kinds.add(kind)
        elif kind not in self._kinds:
            kind = "other"
        self.actions.labels(kind=kind, outcome="ok" if ok else "refused").inc()
        self.latency.labels(kind=kind).observe(seconds)

    def instrument(self, service: Any) -> None:
        """Count and time the service's commands (once per service object)."""
        if getattr(service, "_metrics", None) is not None:
            service._metrics = self
            return
        service._metrics = self
        for name in COMMANDS:
            method = getattr(service, name, None)
            if method is not None:
                setattr(service, name, _timed(service, name, method))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _timed(service: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kind = name
        if name == "act":
            body = args[2] if len(args) > 2 else kwargs.get("body") or {}
            kind = str(body.get("action") or "unknown")[:32] if isinstance(body, dict) \
                else "unknown"
        started = time.perf_counter()
        ok = False
        try:
            result = method(*args, **kwargs)
            ok = True
            return result
        finally:
            service._metrics.observe(kind, time.perf_counter() - started, ok)
    return wrapper
