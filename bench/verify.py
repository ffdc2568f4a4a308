"""Verification benchmark: `sanchika verify --full` against the incremental default after
1,000 new actions, time and peak memory, at N instances.

The instances are made the way bench/scale.py makes files: the demo organisation's
service-made instances (files and receipts, open and closed, with timers, locks and
signatures) copied in bulk until there are N, each copy a chain of its own (every hash
recomputed for its new instance id, dated a day earlier). Then:

  1. `sanchika verify --full` (and with --workers 2)  -> time, peak RSS
  2. `sanchika checkpoint`, then a verify that leaves the mark (full, as a first run is)
  3. 1,000 new actions through the service layer (500 files opened and forwarded)
  4. `sanchika checkpoint`; `sanchika verify` (incremental) -> time, peak RSS

Each verify runs as its own process (the CLI, as an operator runs it); peak RSS is that
process's and its workers'.

Run: python bench/verify.py [--instances N] [--database-url URL] [--json PATH]
     [--no-workers]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from engine.app import Sanchika  # noqa: E402
from engine.audit import history  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.ops.demo import create_demo  # noqa: E402
from engine.store.models import HistoryEvent, Instance, User  # noqa: E402

PASSWORD = "bench-pass-1"  # a throwaway demo database
RUNNER = """
import resource, sys, time
from web.cli.main import main
t = time.perf_counter()
rc = main(sys.argv[1:])
took = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"BENCH {rc} {took:.3f} {own} {kids}", file=sys.stderr)
"""


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", RUNNER, *args], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=False)
    line = next(x for x in run.stderr.splitlines() if x.startswith("BENCH "))
    _, rc, took, own, kids = line.split()
    return {"rc": int(rc), "seconds": float(took), "peak_mb": round(int(own) / 1024, 1),
            "workers_peak_mb": round(int(kids) / 1024, 1), "out": run.stdout.strip()[-300:]}


def copy_instances(app: Sanchika, target: int) -> int:
    """Copies of the service-made instances until there are `target`."""
    with app.db.reader() as s:
        seeds = list(s.scalars(select(Instance).order_by(Instance.id)))
        events = {i.id: history.events(s, i.id) for i in seeds}
        have = s.scalar(select(func.count()).select_from(Instance)) or 0
    made = 0
    while have + made < target:
        with app.db.transaction() as s:
            for seed in seeds:
                if have + made >= target:
                    break
                new = Instance(definition_id=seed.definition_id, process_id=seed.process_id,
                               status=seed.status, subject_kind=seed.subject_kind,
                               subject_id=seed.subject_id, state=seed.state, version=1,
                               started_at=seed.started_at - timedelta(days=1),
                               completed_at=seed.completed_at, event_count=0)
                s.add(new)
                s.flush()
                prev, rows = history.GENESIS, []
                for e in events[seed.id]:
                    at = e.at - timedelta(days=1)
                    body = history.event_body(new.id, e.seq, e.kind, at, e.actor, e.task_spec,
                                              e.data)
                    digest = history.event_hash(prev, body)
                    rows.append({"instance_id": new.id, "seq": e.seq, "kind": e.kind, "at": at,
                                 "actor": e.actor, "task_spec": e.task_spec, "data": e.data,
                                 "prev_hash": prev, "hash": digest})
                    prev = digest
                if rows:
                    s.execute(insert(HistoryEvent), rows)
                new.event_count, new.last_event_hash = len(rows), (prev if rows else None)
                made += 1
    return made


def new_actions(app: Sanchika, files: int) -> float:
    """`files` files opened and forwarded: 2 actions each, through the service layer."""
    with app.db.reader() as s:
        users = {u.username: u for u in s.scalars(select(User))}
    start = time.perf_counter()
    for n in range(files):
        f = app.open_file(users["clerk"], f"Bench {n}", "11011")
        task = next(t for t in app.inbox(users["clerk"]) if t.get("file_id") == f["id"])
        app.act(users["clerk"], task["id"], {"action": "forward", "to": "so"})
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--actions", type=int, default=1000)
    parser.add_argument("--json", default=None)
    parser.add_argument("--no-workers", action="store_true",
                        help="skip the `--workers 2` run")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="sanchika-bench-verify-"))
    url = args.database_url or f"sqlite:///{data_dir / 'sanchika.db'}"
    env = {**os.environ, "SANCHIKA_DATA_DIR": str(data_dir), "SANCHIKA_DATABASE_URL": url,
           "PYTHONPATH": str(ROOT), "SANCHIKA_LOG_LEVEL": "WARNING"}
    app = Sanchika(Settings.from_env(env), handlers.registry)
    app.init()
    create_demo(app, PASSWORD)
    t = time.perf_counter()
    copied = copy_instances(app, args.instances)
    with app.db.reader() as s:
        size = {"instances": s.scalar(select(func.count()).select_from(Instance)),
                "events": s.scalar(select(func.count()).select_from(HistoryEvent))}
    result: dict[str, Any] = {"database": url.split(":")[0], **size,
                              "copied": copied, "copy_seconds": round(time.perf_counter() - t, 1)}
    print(json.dumps(result), flush=True)
    result["full"] = cli(env, "verify", "--full")
    print("full", result["full"], flush=True)
    if not args.no_workers:
        result["full_workers_2"] = cli(env, "verify", "--full", "--workers", "2")
        print("full --workers 2", result["full_workers_2"], flush=True)
    cli(env, "checkpoint")
    result["first_mark"] = cli(env, "verify")
    result["actions_seconds"] = round(new_actions(app, args.actions // 2), 1)
    cli(env, "checkpoint")
    result["incremental"] = cli(env, "verify")
    print("incremental", result["incremental"], flush=True)
    app.db.dispose()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
