"""`sanchika serve --workers N`: gunicorn's options (web/workers.py)."""

from __future__ import annotations

from web.workers import WorkerServer


def test_workers_close_each_connection_so_requests_spread_over_them():
    # a kept-alive connection would stay with the worker that accepted it: under load one
    # worker took every client's connection and the other served nothing
    server = WorkerServer("127.0.0.1", 0, workers=2, threads=4)
    assert server.cfg.keepalive == 0
    assert server.cfg.workers == 2
    assert server.cfg.threads == 4
    assert server.cfg.worker_class_str == "gthread"
