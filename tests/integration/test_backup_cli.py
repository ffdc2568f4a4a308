"""`sanchika backup` / `sanchika restore` end to end with the real console script: a
letter with a scanned PDF is diarised over HTTP, backed up, restored into a fresh database
and data folder, and served again by `sanchika serve` on the restored copy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from engine.config import Settings
from tests import cli
from tests.backup_fixtures import restore_target  # noqa: F401  (the `target` fixture)
from tests.cli import CliResult
from tests.conftest import PASSWORD
from tests.pdfs import make_pdf

SANCHIKA = str(Path(sys.executable).parent / "sanchika")
FIELDS = {"sender": "Collector, Jaipur", "subject": "Scanned letter", "mode": "post"}


def sanchika(settings: Settings, *args: str) -> CliResult:
    return cli.run(settings, *args)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_backup_restore_serve_with_the_cli(api, demo, target, tmp_path):
    pdf = make_pdf("the scanned letter", pages=2)
    r = api.post("/receipts", "clerk", data=FIELDS,
                 files={"pdf": ("letter.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    receipt = r.json()
    dest = tmp_path / "backups"

    done = sanchika(demo.settings, "backup", str(dest))
    assert done.returncode == 0, done.stderr
    assert "snapshot: " in done.stdout
    assert "1 copied" in done.stdout
    again = sanchika(demo.settings, "backup", str(dest), "--keep", "1")
    assert again.returncode == 0, again.stderr
    assert "0 copied (0 B), 1 already in the store" in again.stdout
    assert "pruned: 1 older snapshot(s)" in again.stdout

    checked = sanchika(target, "restore", "--check", str(dest))
    assert checked.returncode == 0, checked.stderr
    assert "verified" in checked.stdout, checked.stderr
    restored = sanchika(target, "restore", str(dest))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "row counts and table hashes equal the manifest" in restored.stdout
    assert "verified: " in restored.stdout
    assert ": intact" in restored.stdout
    verify = sanchika(target, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    refused = sanchika(target, "restore", str(dest))
    assert refused.returncode == 1
    assert "refusing to restore over existing data" in refused.stderr

    # the restored copy serves the same letter and its PDF to the same user
    port = _free_port()
    env = {**os.environ, "SANCHIKA_DATA_DIR": str(target.data_dir),
           "SANCHIKA_DATABASE_URL": target.database_url}
    server = subprocess.Popen([SANCHIKA, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(200):
            try:
                token = requests.post(f"{base}/auth/token", timeout=5, json={
                    "username": "clerk", "password": PASSWORD}).json()["token"]
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        got = requests.get(f"{base}/receipts/{receipt['id']}", headers=headers, timeout=10)
        assert got.status_code == 200
        assert got.json()["diary_no"] == receipt["diary_no"]
        served = requests.get(f"{base}/receipts/{receipt['id']}/pdf", headers=headers,
                              timeout=10)
        assert served.status_code == 200
        assert served.content == pdf
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_cli_refuses_a_damaged_backup_naming_the_file(api, demo, target, tmp_path):
    dest = tmp_path / "backups"
    done = sanchika(demo.settings, "backup", str(dest))
    assert done.returncode == 0, done.stderr
    snapshot = Path(done.stdout.split("snapshot: ", 1)[1].splitlines()[0])
    db_file = next(snapshot.glob("database.*"))
    with db_file.open("r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))

    checked = sanchika(target, "restore", "--check", str(snapshot))
    assert checked.returncode == 1
    assert f"{db_file.name}: SHA-256 differs from the manifest" in checked.stderr
    refused = sanchika(target, "restore", str(dest))
    assert refused.returncode == 1
    assert "does not verify" in refused.stderr
    assert db_file.name in refused.stderr
    assert not (target.data_dir / "uploads").exists()
    nothing = sanchika(target, "restore", str(tmp_path / "nowhere"))
    assert nothing.returncode == 1
    assert "no snapshot here" in nothing.stderr
