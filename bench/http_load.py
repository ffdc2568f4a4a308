"""HTTP benchmark: the file lifecycle over real HTTP against `sanchika serve`, with 1 and 2
server processes, at 16 and 64 concurrent clients.

    .venv/bin/python bench/http_load.py                 # SQLite, 1 process
    .venv/bin/python bench/http_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/sanchika_http
    .venv/bin/python bench/http_load.py --processes 1,2 --clients 16,64 --database-url URL

Each client is a thread with its own keep-alive HTTP connection (http.client: a fraction
of `requests`' CPU per request, so the load generator leaves the cores to the server)
doing the whole lifecycle of one new file after another, as the users would:

  1. clerk opens a file                       POST /files
  2. clerk forwards it to so                  POST /tasks/{id}
  3. so forwards it to us                     POST /tasks/{id}
  4. us forwards it to ds                     POST /tasks/{id}
  5. ds reads the file                        GET  /files/{id}
  6. ds approves (the file is locked)         POST /tasks/{id}
  7. clerk closes it (record category C)      POST /tasks/{id}

A completion is one file through all seven requests. Measured over `--seconds` after a
warm-up: completions/s, p50/p99/max latency of every request and of the POSTs alone, and
the count of 409s (conflicts) and 5xx; the CPU (cores on average, and milliseconds per
completed file) of the server processes, of the PostgreSQL backends connected to the
bench database, and of the load generator itself, and from their sum the ceiling the
machine's cores put on completions/s. A failed step abandons that file (counted), the
client starts the next one.

The server is started by the script (`python -m web.cli.main serve --workers N`, gunicorn
for N > 1, waitress for 1) on a fresh database with the demo organisation; every
configuration runs in the same invocation, one after another, so they share the machine's
load (reported: the 1-minute load average before and after each run).

WARNING: with a PostgreSQL URL the script wipes that database's public schema first.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password"  # the demo users of a throw-away database
USERS = ("clerk", "so", "us", "ds")


def fresh_database(url: str | None, workdir: Path) -> str:
    if url is None:
        return f"sqlite:///{workdir / 'http.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def server_env(url: str, data_dir: Path) -> dict[str, str]:
    # None of the caller's settings, but the test suite's cheap password hash when the suite
    # runs this (scrypt is a tenth of a second per demo user and per sign-in).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SANCHIKA_") or k == "SANCHIKA_TEST_CHEAP_HASH"}
    env.update(SANCHIKA_DATABASE_URL=url, SANCHIKA_DATA_DIR=str(data_dir),
               SANCHIKA_SECRET_KEY="bench",  # noqa: S106 (a throw-away database)
               SANCHIKA_LOG_LEVEL="WARNING",
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def make_demo(env: dict[str, str]) -> None:
    """The schema and the demo organisation, as `sanchika demo --no-state` makes them (here:
    a process of its own spent a second and a half importing the engine, which the server
    imports anyway)."""
    import handlers
    from engine.app import Sanchika
    from engine.config import Settings
    from engine.ops.demo import create_demo

    app = Sanchika(Settings.from_env(env), handlers.registry)
    try:
        app.init()
        create_demo(app, PASSWORD)
    finally:
        app.db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds user + system) of every process, from /proc."""
    stats: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return stats


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) of a process and each of its living descendants."""
    stats = _proc_stats()
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        found[pid] = stats.get(pid, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) of a process and its living descendants, from /proc."""
    return sum(tree_cpu(root).values())


class BackendCpu:
    """CPU of the PostgreSQL backends serving one database (its pg_stat_activity pids;
    the server runs on this machine). A backend that starts inside the window counts from
    its start; one that ends inside it is missed (the servers' pools keep theirs)."""

    def __init__(self, url: str):
        self.engine = create_engine(url, poolclass=NullPool) \
            if url.startswith("postgresql") else None

    def pids(self) -> set[int]:
        if self.engine is None:
            return set()
        with self.engine.connect() as conn:
            return {int(pid) for pid in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalars()}

    def snapshot(self) -> dict[int, float]:
        pids, stats = self.pids(), _proc_stats()
        return {pid: stats[pid][1] for pid in pids if pid in stats}

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


class Server:
    """`sanchika serve --workers N` in its own process group."""

    def __init__(self, env: dict[str, str], workers: int, threads: int, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        with log.open("ab") as out:  # the server writes to its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "web.cli.main", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(workers), "--threads",
                 str(threads)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.base}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit("server did not start in 90 s")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class Tally:
    """What the clients saw inside the measured window (shared, under a lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    measuring: bool = False
    latencies: list[float] = field(default_factory=list)
    post_latencies: list[float] = field(default_factory=list)
    completions: int = 0
    abandoned: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def request(self, method: str, seconds: float, status: int) -> None:
        if not self.measuring:
            return
        with self.lock:
            self.latencies.append(seconds)
            if method == "POST":
                self.post_latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


    def finished(self, ok: bool, error: str = "") -> None:
        if not self.measuring:
            return
        with self.lock:
            if ok:
                self.completions += 1
                return
            self.abandoned += 1
            if len(self.errors) < 5:
                self.errors.append(error)


class StepFailed(Exception):
    pass


class Client:
    """One simulated desk: files through their lifecycle, one after another."""

    def __init__(self, base: str, tokens: dict[str, str], tally: Tally, number: int,
                 use_requests: bool = False):
        self.tokens, self.tally, self.number = tokens, tally, number
        # the earlier load generator, kept to compare its CPU with http.client's
        self.session = requests.Session() if use_requests else None
        self.base = base
        parts = urlsplit(base)
        self.host, self.port, self.prefix = parts.hostname or "", parts.port or 80, parts.path
        self.http: http.client.HTTPConnection | None = None

    def _send(self, method: str, path: str, user: str, body: bytes | None
              ) -> tuple[int, bytes]:
        if self.session is not None:
            try:
                r = self.session.request(
                    method, self.base + path, data=body, timeout=120,
                    headers={"Authorization": f"Bearer {self.tokens[user]}",
                             "Content-Type": "application/json"})
            except requests.RequestException as exc:
                raise OSError(str(exc)) from exc
            return r.status_code, r.content
        if self.http is None:
            self.http = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            self.http.request(method, self.prefix + path, body=body, headers=headers)
            response = self.http.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()  # a new connection for the next request
            self.http = None
            raise

    def call(self, method: str, path: str, user: str, body: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        try:
            status, data = self._send(method, path, user, payload)
        except (OSError, http.client.HTTPException) as exc:
            self.tally.request(method, time.perf_counter() - started, 599)
            raise StepFailed(f"{method} {path}: {exc}") from exc
        self.tally.request(method, time.perf_counter() - started, status)
        if status >= 300:
            raise StepFailed(f"{method} {path}: {status} {data[:200]!r}")
        result: dict[str, Any] = json.loads(data)
        return result

    def act(self, user: str, task_id: int, **body: Any) -> int:
        """Complete a task; the id of the task it leads to."""
        following = self.call("POST", f"/tasks/{task_id}", user, body).get("next") or []
        if not following:
            raise StepFailed(f"no next task after {user}'s {body['action']}")
        return int(following[0]["id"])

    def one_file(self, serial: int) -> None:
        file = self.call("POST", "/files", "clerk",
                         {"subject": f"HTTP bench {self.number}-{serial}", "head": "11011"})
        task = int(file["tasks"][0]["id"])
        for user, to in (("clerk", "so"), ("so", "us"), ("us", "ds")):
            task = self.act(user, task, action="forward", to=to)
        self.call("GET", f"/files/{file['id']}", "ds")
        closure = self.act("ds", task, action="approve", remark="Approved.")
        self.call("POST", f"/tasks/{closure}", "clerk",
                  {"action": "close", "record_category": "C"})

    def run(self, stop: threading.Event) -> None:
        serial = 0
        try:
            while not stop.is_set():
                serial += 1
                try:
                    self.one_file(serial)
                except (StepFailed, KeyError, IndexError, ValueError) as exc:
                    self.tally.finished(ok=False, error=str(exc))
                    continue
                self.tally.finished(ok=True)
        finally:
            if self.http is not None:
                self.http.close()
            if self.session is not None:
                self.session.close()


def percentile_ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 1)


def per_completion_ms(cpu: float, completions: int) -> float | None:
    return round(cpu * 1000 / completions, 1) if completions else None


def run_load(base: str, tokens: dict[str, str], clients: int, warmup: float,
             seconds: float, server_pid: int, backends: BackendCpu,
             use_requests: bool = False) -> dict[str, Any]:
    tally, stop = Tally(), threading.Event()
    threads = [threading.Thread(target=Client(base, tokens, tally, i, use_requests).run,
                                args=(stop,),
                                daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    load_before = os.getloadavg()[0]
    by_process, cpu_client = tree_cpu(server_pid), time.process_time()
    pg_before = backends.snapshot()
    tally.measuring = True
    started = time.monotonic()
    time.sleep(seconds)
    tally.measuring = False
    elapsed = time.monotonic() - started
    by_process = {pid: cpu - by_process.get(pid, 0.0)
                  for pid, cpu in tree_cpu(server_pid).items()}
    cpu_server = sum(by_process.values())
    cpu_client = time.process_time() - cpu_client
    cpu_pg = BackendCpu.used(pg_before, backends.snapshot())
    load_after = os.getloadavg()[0]
    stop.set()
    for t in threads:
        t.join(timeout=180)
    statuses, done = tally.statuses, tally.completions
    return {
        "clients": clients, "seconds": round(elapsed, 1),
        "completions": tally.completions,
        "completions_per_second": round(tally.completions / elapsed, 2),
        "requests": len(tally.latencies),
        "p50_ms": percentile_ms(tally.latencies, 0.50),
        "p99_ms": percentile_ms(tally.latencies, 0.99),
        "max_ms": percentile_ms(tally.latencies, 1.0),
        "post_p50_ms": percentile_ms(tally.post_latencies, 0.50),
        "post_p99_ms": percentile_ms(tally.post_latencies, 0.99),
        "status_409": statuses.get(409, 0),
        "status_5xx": sum(n for s, n in statuses.items() if s >= 500),
        "abandoned": tally.abandoned, "first_errors": tally.errors,
        # cores used on average, and CPU per completed file: the server processes, the
        # PostgreSQL backends of the bench database, the load generator (this process)
        "server_cores_used": round(cpu_server / elapsed, 2),
        # each process's share (gunicorn: the workers; its master idles): a second process
        # adds throughput only if the requests reach it
        "server_cores_by_process": sorted(
            (round(cpu / elapsed, 2) for cpu in by_process.values() if cpu / elapsed >= 0.01),
            reverse=True),
        "pg_cores_used": round(cpu_pg / elapsed, 2) if backends.engine is not None else None,
        "client_cores_used": round(cpu_client / elapsed, 2),
        "server_cpu_ms_per_completion": per_completion_ms(cpu_server, done),
        "pg_cpu_ms_per_completion": per_completion_ms(cpu_pg, done)
        if backends.engine is not None else None,
        "client_cpu_ms_per_completion": per_completion_ms(cpu_client, done),
        # what the machine's cores allow if nothing else ran: cores ÷ CPU per completion
        "ceiling_completions_per_second": round(
            (os.cpu_count() or 1) * done / (cpu_server + cpu_pg + cpu_client), 1)
        if done else None,
        "load_1min_before": round(load_before, 1), "load_1min_after": round(load_after, 1),
    }


def tokens_for(base: str) -> dict[str, str]:
    tokens = {}
    for user in USERS:
        r = requests.post(f"{base}/auth/token", json={"username": user, "password": PASSWORD},
                          timeout=60)
        r.raise_for_status()
        tokens[user] = r.json()["token"]
    return tokens


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL (default: a new SQLite file)")
    parser.add_argument("--processes", default="1,2",
                        help="server processes to compare, e.g. 1,2 (SQLite: 1 only)")
    parser.add_argument("--clients", default="16,64", help="concurrent clients, e.g. 16,64")
    parser.add_argument("--threads", type=int, default=8, help="request threads per process")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--requests", action="store_true",
                        help="clients use requests.Session (the earlier, costlier client)")
    args = parser.parse_args()
    processes = [int(p) for p in args.processes.split(",")]
    clients = [int(c) for c in args.clients.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="sanchika-http-"))
    url = fresh_database(args.database_url, workdir)
    if url.startswith("sqlite") and any(p > 1 for p in processes):
        print("SQLite: one process only (sanchika serve refuses --workers > 1 there)",
              file=sys.stderr)
        processes = [1]
    env = server_env(url, workdir / "data")
    make_demo(env)
    log = workdir / "server.log"
    backends = BackendCpu(url)
    runs = []
    tokens: dict[str, str] | None = None
    for n_clients in clients:
        for n_proc in processes:
            server = Server(env, n_proc, args.threads, log)
            try:
                tokens = tokens or tokens_for(server.base)
                figures = run_load(server.base, tokens, n_clients, args.warmup, args.seconds,
                                   server.proc.pid, backends, args.requests)
            finally:
                server.stop()
            figures = {"processes": n_proc,
                       "client": "requests" if args.requests else "http.client", **figures}
            print(json.dumps(figures), flush=True)
            runs.append(figures)
    result = {"database": url.split(":", 1)[0].split("+")[0], "commit": git_revision(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "threads_per_process": args.threads, "cpus": os.cpu_count(), "runs": runs,
              "server_log": str(log)}
    for n_clients in clients:
        by_proc = {r["processes"]: r for r in runs if r["clients"] == n_clients}
        if 1 in by_proc and 2 in by_proc and by_proc[1]["completions_per_second"]:
            result[f"speedup_2_over_1_at_{n_clients}"] = round(
                by_proc[2]["completions_per_second"] / by_proc[1]["completions_per_second"], 2)
            one, two = by_proc[1], by_proc[2]
            if one["server_cpu_ms_per_completion"] and two["ceiling_completions_per_second"]:
                # one process's Python holds the GIL: at most a core, 1000 ms ÷ its CPU per
                # completion (and at most the cores' ceiling); two reach at most the cores'
                # ceiling. Their ratio bounds the speedup here, however the requests spread.
                alone = min(1000 / one["server_cpu_ms_per_completion"],
                            one["ceiling_completions_per_second"])
                result[f"speedup_bound_at_{n_clients}"] = round(
                    two["ceiling_completions_per_second"] / alone, 2)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if all(r["status_5xx"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
