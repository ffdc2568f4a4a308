"""Throwaway PostgreSQL servers for tests: `initdb` in a temporary folder, a free port on
127.0.0.1, trust authentication, replication allowed. They never touch the machine's own
server or its configuration.

PostgreSQL refuses to run as root, so when the tests run as root (CI) every server command
runs as the `postgres` OS user (`runuser -u postgres --`), in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)])
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", SERVER_USER, "--"]


def can_run() -> str | None:
    """Why throwaway servers cannot run here (None: they can)."""
    if server_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} OS user"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workspace() -> Path:
    """A private temporary folder the server user owns (pytest's tmp_path is root's)."""
    root = Path(tempfile.mkdtemp(prefix="sanchika-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    root.chmod(0o700)
    return root


class Cluster:
    """One PostgreSQL server: its data folder, port and log under `root`."""

    def __init__(self, root: Path, name: str):
        self.root = root
        self.name = name
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = free_port()
        self.bin = server_bin()
        assert self.bin is not None

    def run(self, tool: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([*as_server_user(), str(self.bin / tool), *args],
                              capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}): "
                               f"{done.stderr}{done.stdout}\n{log[-3000:]}")
        return done.stdout

    def initdb(self) -> Cluster:
        """A primary that allows streaming replication to 127.0.0.1."""
        # --no-sync: a throwaway server's files need not reach the disk before it starts
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"""
listen_addresses = '127.0.0.1'
unix_socket_directories = '{self.root}'
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
wal_keep_size = '64MB'
fsync = off  # a throwaway test server: speed over crash safety
""")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n")
        return self

    def base_backup_of(self, primary: Cluster) -> Cluster:
        """A standby of `primary`: pg_basebackup -R writes primary_conninfo and
        standby.signal, so it starts streaming from the primary."""
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                 "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
                 "--no-sync")
        return self

    def start(self) -> Cluster:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                 "-o", f"-p {self.port} -k {self.root}", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: "fast" shuts down cleanly (a shutdown checkpoint, streamed to
        a standby); "immediate" just ends it, for a server about to be thrown away."""
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"
