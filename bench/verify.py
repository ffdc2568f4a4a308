"""Verification benchmark: `sanchika verify --full` against the incremental default after
1,000 new actions, time and peak memory, at N instances.

The instances are made the way bench/scale.py makes files: the demo organisation's
service-made instances (files and receipts, open and closed, with timers, locks and
signatures) copied in bulk until there are N, each copy a chain of its own (every hash
recomputed for its new instance id, dated a day earlier). Then:

  1. `sanchika verify --full` (and with --workers 2)  -> time, peak RSS
  2. a checkpoint, then a verify that leaves the mark (full, as a first run is)
  3. 1,000 new actions through the service layer (500 files opened and forwarded)
  4. a checkpoint; `sanchika verify` (incremental) -> time, peak RSS

Each verify runs as its own process (the CLI, as an operator runs it); peak RSS is that
process's and its workers'. The checkpoints are the service's, made in this process.

`--existing DIR` measures a database bench/scale.py built and kept instead (`scale.py
--build-only --keep DIR`: 100,000 or a million files, each copy a chain of its own), where
a first full run would take hours. Its baseline is the bench's own set-up, not what an
operator does (an operator's first mark comes from a full `sanchika verify`):

  1. the full check (chain, lock targets, re-execution) of the first --sample instances
     (the demo's, the two templates' and the first copies) -> its rate;
  2. every instance's chain re-hashed and its row's head compared (streamed); with
     --rehash-sample N (PostgreSQL; a million files) instead N random chains re-hashed
     in Python and every chain's links checked in SQL (LINKS_SQL: not a re-hash);
  3. `sanchika checkpoint`, then a verification mark over that checkpoint and the newest
     event (what an intact full run would leave);
  4. `sanchika verify --full` for --full-seconds, then stopped -> peak RSS as it streams;
  5. 1,000 new actions, `sanchika checkpoint`, `sanchika verify --incremental` (twice)
     -> time, peak RSS.

Run: python bench/verify.py [--instances N] [--database-url URL] [--json PATH]
     [--no-workers]
     python bench/verify.py --existing DIR --database-url URL [--sample N]
     [--rehash-sample N] [--seed S]
     [--full-seconds S] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from engine.app import Sanchika  # noqa: E402
from engine.audit import checkpoints, history, marks, passkeys, signing, verify_run  # noqa: E402
from engine.audit import verify as checks  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.ops.demo import create_demo  # noqa: E402
from engine.store.audit_models import Checkpoint  # noqa: E402
from engine.store.models import HistoryEvent, Instance, User, utcnow  # noqa: E402

PASSWORD = "bench-pass-1"  # a throwaway demo database
RUNNER = """
import resource, sys, time
from web.cli.main import main
t = time.perf_counter()
rc = main(sys.argv[1:])
took = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # Linux: ru_maxrss keeps the forking parent's size across exec; VmHWM is our own
    status = open("/proc/self/status").read().splitlines()
    own = next(int(x.split()[1]) for x in status if x.startswith("VmHWM"))
except OSError:
    pass
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


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def sample_full(app: Sanchika, n: int) -> dict[str, Any]:
    """The full check of the first `n` instances, in chunks as `sanchika verify` makes
    them: its rate."""
    with app.db.reader() as s:
        ids = list(s.scalars(select(Instance.id).order_by(Instance.id).limit(n)))
    wall, cpu = time.perf_counter(), cpu_seconds()
    problems: list[str] = []
    events = 0
    for start in range(0, len(ids), verify_run.CHUNK):
        _, evs, _, found = verify_run.check_chunk(app.db, app.definitions,
                                                 ids[start:start + verify_run.CHUNK])
        events += evs
        problems += found
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return {"instances": len(ids), "events": events, "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "ms_per_instance": round(1000 * wall / len(ids), 2),
            "cpu_ms_per_instance": round(1000 * cpu / len(ids), 2),
            "problems": len(problems), "first_problems": problems[:3]}


def rehash_pages(app: Sanchika, pages: Any) -> dict[str, Any]:
    """The given instances' chains re-hashed (history.verify_chain) and each row's head
    compared, a page of instance ids at a time, their events by one query per page."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    instances, events, broken = 0, 0, []
    for ids in pages:
        with app.db.reader() as s:
            page = s.execute(select(Instance.id, Instance.event_count, Instance.last_event_hash)
                             .where(Instance.id.in_(ids)).order_by(Instance.id)).all()
            rows = history.events_of(s, [p.id for p in page])
        by: dict[int, list[Any]] = {}
        for row in rows:
            by.setdefault(row.instance_id, []).append(row)
        for p in page:
            chain = by.get(p.id, [])
            problem = history.verify_chain(chain)
            head = (chain[-1].seq, chain[-1].hash) if chain else (0, None)
            if problem is None and head != (p.event_count or 0, p.last_event_hash):
                problem = f"instance {p.id}: its row's head is not its newest event"
            if problem:
                broken.append(problem)
            events += len(chain)
        instances += len(page)
    return {"instances": instances, "events": events,
            "seconds": round(time.perf_counter() - wall, 1),
            "cpu_seconds": round(cpu_seconds() - cpu, 1), "broken": len(broken),
            "first_broken": broken[:3]}


def all_ids(app: Sanchika) -> list[int]:
    with app.db.reader() as s:
        return list(s.scalars(select(Instance.id).order_by(Instance.id)))


def rehash_all(app: Sanchika) -> dict[str, Any]:
    """Every instance's chain re-hashed in Python."""
    ids = all_ids(app)
    return rehash_pages(app, (ids[k:k + 1000] for k in range(0, len(ids), 1000)))


def rehash_sample(app: Sanchika, n: int, seed: int) -> dict[str, Any]:
    """`n` instances drawn at random (seeded), their whole chains re-hashed in Python."""
    ids = sorted(random.Random(seed).sample(all_ids(app), n))
    return {"sample_seed": seed,
            **rehash_pages(app, (ids[k:k + 1000] for k in range(0, len(ids), 1000)))}


# Every chain's links, checked by PostgreSQL in one pass over the events in (instance, seq)
# order: seq runs 1, 2, ... with no gap; each event's prev_hash is its predecessor's hash
# (the genesis for the first); each instance row's head (event_count, last_event_hash) is
# its newest event. It does not re-hash an event's body: an event altered together with its
# own hash but not its successor's prev_hash is caught, one altered with its hash AND every
# later link rewritten is not (that needs the hash function: the Python sample does it).
LINKS_SQL = """
WITH e AS (
  SELECT instance_id, seq, prev_hash, hash,
         lag(hash) OVER w AS before, row_number() OVER w AS n, lead(seq) OVER w AS after
  FROM history_events WINDOW w AS (PARTITION BY instance_id ORDER BY seq))
SELECT count(*) AS events,
       count(*) FILTER (WHERE e.seq <> e.n) AS seq_out_of_order,
       count(*) FILTER (WHERE e.prev_hash <> coalesce(e.before, :genesis)) AS unlinked,
       count(*) FILTER (WHERE e.after IS NULL) AS chains,
       count(*) FILTER (WHERE e.after IS NULL AND i.event_count = e.seq
                          AND i.last_event_hash = e.hash) AS heads_matching
FROM e LEFT JOIN instances i ON i.id = e.instance_id AND e.after IS NULL
"""


def links_sql(app: Sanchika) -> dict[str, Any]:
    """LINKS_SQL over every event, and the instances that should have a chain."""
    wall = time.perf_counter()
    with app.db.reader() as s:
        s.execute(text("SET LOCAL work_mem = '256MB'"))
        row = s.execute(text(LINKS_SQL), {"genesis": history.GENESIS}).one()
        with_events = s.scalar(select(func.count()).select_from(Instance)
                               .where(Instance.event_count > 0))
    out = dict(row._mapping)
    out["instances_with_events"] = with_events
    out["broken"] = (out["seq_out_of_order"] + out["unlinked"]
                     + (out["chains"] - out["heads_matching"])
                     + abs((with_events or 0) - out["chains"]))
    out["seconds"] = round(time.perf_counter() - wall, 1)
    return out


def baseline_mark(app: Sanchika, instances: int) -> dict[str, Any]:
    """The mark an intact full run would leave: over the newest checkpoint and the newest
    event (nothing else writes this database meanwhile)."""
    with app.db.reader() as s:
        seq = s.scalar(select(func.max(Checkpoint.seq))) or 0
        event_id = s.scalar(select(func.max(HistoryEvent.id))) or 0
    with app.command() as s:
        mark = marks.record(s, app.audit_keys, at=utcnow(), mode="baseline",
                            checkpoint_seq=seq, event_id=event_id, instances=instances)
        return {"mark": mark.id, "checkpoint_seq": seq, "event_id": event_id}


def full_rss(env: dict[str, str], seconds: float) -> dict[str, Any]:
    """`sanchika verify --full` for `seconds`, then stopped: its peak RSS (VmHWM) as it
    streams, read every 5 s."""
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, "verify", "--full"], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peaks: list[tuple[float, float]] = []
    start = time.perf_counter()
    try:
        while proc.poll() is None and time.perf_counter() - start < seconds:
            time.sleep(min(5.0, max(0.2, seconds / 10)))
            status = Path(f"/proc/{proc.pid}/status").read_text()
            found = [int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM")]
            if not found:
                break  # it ended meanwhile (a small build): no memory left to read
            hwm = found[0]
            stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            peaks.append((round(cpu, 1), round(hwm / 1024, 1)))
    finally:
        finished = proc.poll() is not None
        proc.terminate()
        proc.wait()
    return {"seconds": round(time.perf_counter() - start, 1), "finished": finished,
            "cpu_and_peak_mb": peaks[::max(1, len(peaks) // 12)] + peaks[-1:],
            "peak_mb": max((p for _, p in peaks), default=0.0)}


def phases(app: Sanchika) -> dict[str, Any]:
    """The incremental run's parts over the whole installation, timed one by one in one
    snapshot (what `verify_run.run` does besides re-checking the changed instances), and
    PostgreSQL's plan totals for its two queries."""
    out: dict[str, Any] = {}
    with checks.snapshot(app.db) as s:
        mark, _ = marks.latest(s, app.audit_keys)
        assert mark is not None

        def timed(name: str, call: Any) -> Any:
            t = time.perf_counter()
            value = call()
            out[name] = round(time.perf_counter() - t, 2)
            return value

        new, moved = verify_run._changed_queries(mark)
        changed = set(timed("events after the mark", lambda: list(s.scalars(new))))
        changed |= set(timed("heads moved since their checkpoint",
                             lambda: list(s.scalars(moved))))
        out["changed"] = len(changed)
        timed("count of instances", lambda: s.scalar(select(func.count())
                                                     .select_from(Instance)))
        timed("checkpoints re-hashed and their heads found",
              lambda: checkpoints.verify(s, app.audit_keys))
        ring = signing.KeyRing(app.audit_keys)
        timed("signatures of the changed instances",
              lambda: signing.verify(s, ring, changed))
        timed("passkey approvals", lambda: passkeys.verify(s))
        if not app.db.is_sqlite:
            for name, query in (("plan: events after the mark", new),
                                ("plan: heads moved", moved)):
                sql = query.compile(app.db.engine, compile_kwargs={"literal_binds": True})
                plan = s.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}")).scalars().all()
                out[name] = [line.strip() for line in plan]
    return out


def existing(args: argparse.Namespace) -> dict[str, Any]:
    keep = Path(args.existing)
    data_dir = keep / "data"
    url = args.database_url
    env = {**os.environ, "SANCHIKA_DATA_DIR": str(data_dir), "SANCHIKA_DATABASE_URL": url,
           "PYTHONPATH": str(ROOT), "SANCHIKA_LOG_LEVEL": "WARNING"}
    app = Sanchika(Settings.from_env(env), handlers.registry)
    with app.db.reader() as s:
        size = {"instances": s.scalar(select(func.count()).select_from(Instance)),
                "events": s.scalar(select(func.count()).select_from(HistoryEvent))}
    result: dict[str, Any] = {"database": url.split(":")[0], **size,
                              "load_start": os.getloadavg()}
    print(json.dumps(result), flush=True)

    def step(name: str, value: Any) -> None:
        result[name] = value
        print(name, json.dumps(value), "load", os.getloadavg()[0], flush=True)

    step("sample_full", sample_full(app, args.sample))
    if args.rehash_sample and not app.db.is_sqlite:
        step("rehash_sample", rehash_sample(app, args.rehash_sample, args.seed))
        step("links_sql", links_sql(app))
    else:
        step("rehash_all", rehash_all(app))
    step("checkpoint", cli(env, "checkpoint"))
    step("baseline", baseline_mark(app, size["instances"] or 0))
    if args.full_seconds:
        step("full_rss", full_rss(env, args.full_seconds))
    step("actions_seconds", round(new_actions(app, args.actions // 2), 1))
    step("checkpoint_after", cli(env, "checkpoint"))
    for k in (1, 2):
        step(f"incremental_{k}", cli(env, "verify", "--incremental"))
    step("phases", phases(app))
    app.db.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--actions", type=int, default=1000)
    parser.add_argument("--json", default=None)
    parser.add_argument("--no-workers", action="store_true",
                        help="skip the `--workers 2` run")
    parser.add_argument("--existing", metavar="DIR",
                        help="measure a kept bench/scale.py build (its --keep DIR) instead")
    parser.add_argument("--sample", type=int, default=2000,
                        help="--existing: instances checked in full for the rate")
    parser.add_argument("--full-seconds", type=float, default=300,
                        help="--existing: how long `verify --full` runs for its memory")
    parser.add_argument("--rehash-sample", type=int, default=0, metavar="N",
                        help="--existing on PostgreSQL: re-hash N random instances' chains in "
                             "Python and check every chain's links in SQL, instead of "
                             "re-hashing every chain in Python (a million files: 40-80 min)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.existing:
        if not args.database_url:
            raise SystemExit("error: --existing needs the --database-url of that build")
        result = existing(args)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
        print(json.dumps(result, indent=1))
        return 0
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
    # The checkpoints `sanchika checkpoint` would record, made here: they are not measured,
    # and a process of their own spends its second and a half importing.
    app.checkpoint()
    result["first_mark"] = cli(env, "verify", "--incremental")
    result["actions_seconds"] = round(new_actions(app, args.actions // 2), 1)
    app.checkpoint()
    result["incremental"] = cli(env, "verify", "--incremental")
    print("incremental", result["incremental"], flush=True)
    app.db.dispose()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
