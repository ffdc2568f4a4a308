"""`sanchika serve --workers N`: N gunicorn worker processes on PostgreSQL, each with its
own service; refused with a clear message on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, _free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANCHIKA_")}
    env.update(SANCHIKA_DATABASE_URL=settings.database_url,
               SANCHIKA_DATA_DIR=str(settings.data_dir),
               SANCHIKA_SECRET_KEY=settings.secret_key, PYTHONUNBUFFERED="1")
    return env


def _children(pid: int) -> set[int]:
    """The process's direct children (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_more_than_one_worker_is_refused_on_sqlite(demo):
    if not demo.db.is_sqlite:
        pytest.skip("SQLite only")
    done = subprocess.run(
        [sys.executable, "-m", "web.cli.main", "serve", "--workers", "2",
         "--port", str(_free_port())], cwd=ROOT, env=_env(demo.settings),
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--workers" in done.stderr
    assert "PostgreSQL" in done.stderr


def test_two_workers_serve_the_api_on_postgresql(demo, tmp_path):
    if demo.db.is_sqlite:
        pytest.skip("PostgreSQL only (SANCHIKA_TEST_DATABASE_URL)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    log = tmp_path / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "web.cli.main", "serve", "--workers", "2", "--threads", "2",
         "--port", str(port)], cwd=ROOT, env=_env(demo.settings),
        stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-2000:]
            try:
                if requests.get(f"{base}/openapi.json", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        r = requests.post(f"{base}/auth/token",
                          json={"username": "clerk", "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['token']}"}
        numbers = []
        for i in range(4):  # fresh connections: the requests spread over the workers
            r = requests.post(f"{base}/files", json={"subject": f"Worker {i}", "head": "11011"},
                              headers=auth, timeout=30)
            assert r.status_code == 201, r.text
            # closed after each answer: the next request goes to whichever worker is free
            assert r.headers.get("Connection", "").lower() == "close"
            numbers.append(r.json()["file_no"])
        assert len(set(numbers)) == 4
        assert len(_children(proc.pid)) == 2, log.read_text()[-2000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-2000:]
