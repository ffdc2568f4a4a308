"""The operator's commands on a fresh data folder, as real processes: --version, init,
admin create (a working administrator; weak passwords refused), an owner-only data folder,
init --organisation (all rows or none), doctor."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import handlers
from engine import __version__
from engine.app import Sanchika
from engine.config import Settings
from engine.domain import uploads
from tests import cli
from tests.cli import CliResult
from tests.ops_servers import running
from tests.pdfs import make_pdf

STRONG = "Quiet-harbour-lamp-7"
ORG = (Path(__file__).resolve().parents[1] / "data" / "organisation.csv").read_text()


@pytest.fixture
def env(tmp_path: Path, settings) -> dict[str, str]:
    """The commands' environment: a new data folder, the test's (emptied) database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANCHIKA_")}
    env.update(SANCHIKA_DATA_DIR=str(tmp_path / "instance"),
               SANCHIKA_DATABASE_URL=settings.database_url)
    return env


def sanchika(env: dict[str, str], *args: str, stdin: str = "") -> CliResult:
    return cli.run(env, *args, stdin=stdin)


def test_version():
    """The installed console script itself, once, as a real process."""
    out = subprocess.run([str(Path(sys.executable).parent / "sanchika"), "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip() == f"sanchika {__version__}"


def test_fresh_install_admin_and_owner_only_data(env, tmp_path, service):
    weak = sanchika(env, "admin", "create", "chief", stdin="password123\n")
    assert weak.returncode == 1
    assert "too weak" in weak.stderr
    short = sanchika(env, "admin", "create", "chief", stdin="Ab1-\n")
    assert short.returncode == 1
    assert "at least 12 characters" in short.stderr
    made = sanchika(env, "admin", "create", "chief", "--full-name", "Chief Admin",
                    stdin=STRONG + "\n")
    assert made.returncode == 0, made.stderr
    again = sanchika(env, "admin", "create", "chief", stdin=STRONG + "\n")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert sanchika(env, "init").returncode == 0
    assert sanchika(env, "checkpoint").returncode == 0  # makes keys/ and the master key

    data = tmp_path / "instance"
    assert (data / "keys" / "master.key").is_file()
    # a scanned letter stored into this data folder (uploads/ and its fan-out folder), under
    # the umask `sanchika serve` sets for its process
    umask = os.umask(0o077)
    try:
        served = Sanchika(Settings.from_env({
            "SANCHIKA_DATA_DIR": str(data),
            "SANCHIKA_DATABASE_URL": env["SANCHIKA_DATABASE_URL"]}), handlers.registry)
        chief = served.authenticate("chief", STRONG)
        with served.db.transaction() as s:
            uploads.store_pdf(s, data, served.settings.max_upload_bytes, make_pdf(), "a.pdf", chief)
        served.db.dispose()
    finally:
        os.umask(umask)
    assert len(list((data / "uploads").rglob("*"))) == 2
    loose = [f"{p} {stat.S_IMODE(p.stat().st_mode):o}" for p in [data, *data.rglob("*")]
             if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
    assert stat.S_IMODE(data.stat().st_mode) == 0o700

    # the administrator signs in (same database as this test's service)
    user = service.authenticate("chief", STRONG)
    assert user.role == "admin"
    assert user.full_name == "Chief Admin"
    with running(service) as base:
        r = requests.post(f"{base}/api/v1/auth/token", timeout=10,
                          json={"username": "chief", "password": STRONG})
        assert r.status_code == 200
        assert r.json()["role"] == "admin"

    doctor = sanchika(env, "doctor")
    assert "ok   administrator: 1 active" in doctor.stdout
    assert "ok   permissions" in doctor.stdout


def test_password_file(env, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(STRONG + "\n")
    out = sanchika(env, "admin", "create", "keeper", "--password-file", str(secret))
    assert out.returncode == 0, out.stderr


def test_doctor_names_what_to_fix(env, tmp_path):
    data = tmp_path / "instance"
    assert sanchika(env, "init").returncode == 0
    (data / "sanchika.toml").write_text('log_level = "info"\n')
    (data / "sanchika.toml").chmod(0o644)
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    boxes = tmp_path / "mailboxes.toml"
    boxes.write_text(f'[[mailbox]]\nname = "est"\nhost = "127.0.0.1"\nport = {port}\n'
                     'security = "plain"\nusername = "u"\npassword = "p"\npost = "X"\n')
    out = sanchika({**env, "SANCHIKA_MAILBOXES": str(boxes)}, "doctor")
    assert f"warn mailbox est: 127.0.0.1:{port} unreachable" in out.stdout
    assert out.returncode == 1
    assert "FAIL permissions" in out.stdout
    assert "sanchika.toml is 0644" in out.stdout
    assert "FAIL administrator: no active administrator" in out.stdout
    assert "sanchika admin create" in out.stdout
    assert "(settings file:" in out.stdout
    assert "warn backup encryption: backups are not encrypted" in out.stdout
    assert "sanchika backup-keygen" in out.stdout


def test_init_with_an_organisation(env, tmp_path, service):
    path = tmp_path / "org.csv"
    path.write_text(ORG)
    out = sanchika(env, "init", "--organisation", str(path))
    assert out.returncode == 0, out.stderr
    assert "imported 1 department(s), 0 office(s), 2 section(s), 3 post(s), 4 user(s)" in out.stdout
    passwords = next((tmp_path / "instance").glob("initial-passwords-*.csv"))
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    rows = dict(line.split(",") for line in passwords.read_text().splitlines()[1:])
    assert set(rows) == {"asha", "vikram", "meena", "audit1"}
    assert service.authenticate("asha", rows["asha"]).language == "hi"

    bad = tmp_path / "bad.csv"
    bad.write_text(ORG.replace("REV-LR-SO,Section Officer,2,no,REV-DS",
                               "REV-LR-SO,Section Officer,9,no,REV-XX"))
    out = sanchika(env, "init", "--organisation", str(bad))
    assert out.returncode == 1
    assert "nothing imported" in out.stderr
    assert f"{bad}:2: post_code: post REV-LR-DA already exists" in out.stderr
    assert f"{bad}:3: rank:" in out.stderr
    assert f"{bad}:3: superior_post:" in out.stderr
