"""`sanchika serve --workers N`: N server processes under gunicorn (PostgreSQL only).

The master process only listens and supervises; it holds no database connection (the
caller disposes its pools before the workers fork). Each worker, after the fork, builds its
own service, engines and Flask app, and runs what a single `sanchika serve` runs beside
the web server: the scheduler's lease keeper and timer sweep (every process fires timers
on PostgreSQL, claiming batches with SKIP LOCKED; the lease keeps checkpoints, backups and
the other singleton jobs to one process) and the outbox deliverer (its claims are
per row, safe from any number of processes). Requests are served by gunicorn's threaded
worker, `--threads` per process, as waitress does for one process.

SQLite is refused: it allows one writer at a time, so a second process only adds lock
waits (one process with threads is the right shape there)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

GRACEFUL_SECONDS = 30


def refuse_reason(database_url: str, workers: int) -> str | None:
    """Why `--workers N` cannot run on this database (None: it can)."""
    if workers < 1:
        return "--workers: at least 1"
    if workers > 1 and database_url.startswith("sqlite"):
        return ("--workers: more than one process needs PostgreSQL (SANCHIKA_DATABASE_URL); "
                "SQLite takes one writer at a time, so serve with one process and --threads")
    return None


@dataclass
class _Running:
    """What one worker started, stopped when it exits."""

    jobs: Any
    stop_delivery: threading.Event
    deliverer: threading.Thread

    def stop(self) -> None:
        self.jobs.shutdown(wait=False)
        self.stop_delivery.set()
        self.deliverer.join(timeout=GRACEFUL_SECONDS)


_running: list[_Running] = []


def worker_app() -> Flask:
    """The Flask app of one worker process, with its background threads (after the fork)."""
    import handlers
    from engine.app import Sanchika
    from engine.config import Settings
    from engine.notify.delivery import Deliverer
    from engine.ops import scheduler
    from web.app import create_app
    from web.cli import ops as cli_ops

    service = Sanchika(Settings.from_env(), handlers.registry)
    cli_ops.configure_logging(service.settings.log_level, service.settings.log_format)
    jobs = scheduler.start(service)
    deliverer, stop_delivery = Deliverer(service.db, service.settings).start_thread(interval=5.0)
    _running.append(_Running(jobs, stop_delivery, deliverer))
    return create_app(service.settings, service)


def _worker_exit(_server: Any, _worker: Any) -> None:
    while _running:
        _running.pop().stop()


class WorkerServer(BaseApplication):
    """gunicorn, configured in code (no config file is read)."""

    def __init__(self, host: str, port: int, workers: int, threads: int,
                 forwarded: bool = False):
        self.options = {
            "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread",
            "threads": threads, "proc_name": "sanchika", "graceful_timeout": GRACEFUL_SECONDS,
            # a slow PDF or backup request must not get its worker killed at 30 s
            "timeout": 120, "worker_exit": _worker_exit,
            # No keep-alive: a kept-alive connection stays with the worker that accepted
            # it, and one worker accepts a burst of new connections before the other
            # wakes, so under load one process served every client and the other idled
            # (two processes measured slower than one, bench/README.md). Closing after
            # each response lets the next request go to whichever worker is free to
            # accept it. A TLS proxy in front keeps its own keep-alive with browsers.
            "keepalive": 0,
            # behind the configured proxies (SANCHIKA_TRUSTED_PROXIES) the app's ProxyFix
            # decides what to believe; gunicorn passes the headers on
            "forwarded_allow_ips": "*" if forwarded else "127.0.0.1",
            # no control socket in the home folder (two servers would share its path)
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # control_socket_disable: gunicorn 27 and later
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return worker_app()
