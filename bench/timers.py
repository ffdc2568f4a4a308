"""Timer benchmark: N pending SLA timers, M of them due within the same minute.

    .venv/bin/python bench/timers.py                               # 100,000 / 10,000, SQLite
    .venv/bin/python bench/timers.py --timers 20000 --due 2000
    .venv/bin/python bench/timers.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/sanchika_bench
    .venv/bin/python bench/timers.py --batch 1                     # one transaction per instance
    .venv/bin/python bench/timers.py --processes 2 --database-url postgresql+psycopg://...

How the timers are made: one real file is opened through the service layer (so its
workflow state, open task and SLA timer are exactly what the runtime writes). Its rows are
then copied in bulk, N times, each copy with its own file number and its own due time,
written both into the `timers` row and into the boundary timer's `event_value` inside the
copied workflow state (SpiffWorkflow decides from that value whether a timer has fired).
Every copy is a complete running `file_approval` instance that the real runtime loads,
fires, escalates (notifying the holder and the superior post through the outbox) and
saves. The N - M timers not due are an hour or more away.

Firing is the real thing: the TimerScheduler that `sanchika serve` runs (lease, the sweep
every 250 ms, `Sanchika.fire_due_timers`), in `--processes` separate processes (default 1)
on the same database, as several servers would run it: on PostgreSQL each of them fires
(claiming batches with FOR UPDATE SKIP LOCKED), on SQLite the lease holder does. Measured:
time from the first due time until every due timer has fired, and from the last due time;
lag (history
`timer_fired.lag_ms`, i.e. firing time minus due time) p50/p99/max; duplicates (instances
with more than one `timer_fired` event, must be 0); timers fired that were not due (must
be 0); peak resident memory of each firing process (ru_maxrss); instances each process
fired.

WARNING: with a PostgreSQL URL the script wipes that database's public schema first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.ops import scheduler
from engine.ops.demo import create_demo
from engine.store.models import (
    File,
    HistoryEvent,
    Instance,
    OpenTask,
    OutboxMessage,
    Timer,
    User,
    utcnow,
)

CHUNK = 2000


def fresh_database(url: str | None, workdir: Path) -> str:
    if url is None:
        return f"sqlite:///{workdir / 'timers.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def template(app: Sanchika) -> dict:
    """One real file opened by the clerk: the rows to copy."""
    with app.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    opened = app.open_file(clerk, "Benchmark template", "11011")
    with app.db.reader() as s:
        instance = s.get(Instance, opened["instance_id"])
        task = s.scalar(select(OpenTask).where(OpenTask.instance_id == instance.id))
        timer = s.scalar(select(Timer).where(Timer.instance_id == instance.id))
        file = s.get(File, opened["id"])
        marker = timer.due_at.isoformat()
        assert instance.state.count(marker) == 1, "the timer's event_value is in the state"
        return {"instance": instance, "task": task, "timer": timer, "file": file,
                "marker": marker}


def copy_rows(app: Sanchika, tpl: dict, dues: list[datetime], first_serial: int) -> None:
    """Bulk-insert one complete instance (file, instance, open task, timer) per due time."""
    inst, task, timer, file = tpl["instance"], tpl["task"], tpl["timer"], tpl["file"]
    state_head, state_tail = inst.state.split(tpl["marker"])
    with app.db.write_engine.begin() as conn:
        next_file = (conn.scalar(select(func.max(File.id))) or 0) + 1
        next_inst = (conn.scalar(select(func.max(Instance.id))) or 0) + 1
        for start in range(0, len(dues), CHUNK):
            part = dues[start:start + CHUNK]
            fids = range(next_file + start, next_file + start + len(part))
            iids = range(next_inst + start, next_inst + start + len(part))
            serials = range(first_serial + start, first_serial + start + len(part))
            conn.execute(insert(Instance), [{
                "id": iid, "definition_id": inst.definition_id, "process_id": inst.process_id,
                "status": "running", "subject_kind": "file", "subject_id": fid,
                "state": _with_file(state_head, file.id, fid) + due.isoformat()
                + _with_file(state_tail, file.id, fid),
                "version": 1, "started_at": inst.started_at,
                "last_event_hash": inst.last_event_hash, "event_count": inst.event_count,
            } for iid, fid, due in zip(iids, fids, part, strict=True)])
            conn.execute(insert(File), [{
                "id": fid, "file_no": f"BENCH/{serial}/{file.year}", "section_id": file.section_id,
                "head": file.head, "serial": serial, "year": file.year,
                "subject": f"Benchmark file {serial}", "priority": file.priority,
                "creator_post_id": file.creator_post_id, "created_by": file.created_by,
                "created_at": file.created_at, "holder_post_id": file.holder_post_id,
                "holder_since": file.holder_since, "status": "open", "locked": False,
                "instance_id": iid,
            } for fid, iid, serial in zip(fids, iids, serials, strict=True)])
            conn.execute(insert(OpenTask), [{
                "instance_id": iid, "task_uuid": task.task_uuid, "task_spec": task.task_spec,
                "name": task.name, "kind": "file", "file_id": fid, "post_id": task.post_id,
                "actions": task.actions, "priority": task.priority,
                "received_at": task.received_at, "due_at": due, "warn_at": None,
            } for iid, fid, due in zip(iids, fids, part, strict=True)])
            conn.execute(insert(Timer), [{
                "instance_id": iid, "task_uuid": timer.task_uuid, "task_spec": timer.task_spec,
                "due_at": due, "status": "pending",
            } for iid, due in zip(iids, part, strict=True)])


def _with_file(state: str, old: int, new: int) -> str:
    """The copy's own file id in the workflow data (escalation names the file)."""
    return state.replace(f'"file_id": {old},', f'"file_id": {new},') \
        .replace(f'"file_id": {old}}}', f'"file_id": {new}}}')


def run_worker(url: str, data_dir: str, batch: int | None) -> int:
    """One firing process (--worker): a TimerScheduler until SIGTERM, then its peak RSS
    and how many instances it fired, as JSON on stdout."""
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    settings = Settings.from_env({"SANCHIKA_DATA_DIR": data_dir, "SANCHIKA_DATABASE_URL": url,
                                  "SANCHIKA_SECRET_KEY": "bench"})
    app = Sanchika(settings, handlers.registry)
    if batch is not None:
        app.timer_batch = batch
    fired = [0]
    fire = app.fire_due_timers

    def counted(*args: Any, **kwargs: Any) -> int:
        n = fire(*args, **kwargs)
        fired[0] += n
        return n

    app.fire_due_timers = counted
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    jobs = scheduler.start(app)
    print("ready", flush=True)
    stop.wait()
    jobs.shutdown(wait=True)
    print(json.dumps({"pid": os.getpid(), "fired": fired[0],
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                           / 1024)}), flush=True)
    app.db.dispose()
    return 0


def start_workers(n: int, url: str, data_dir: str, batch: int | None
                  ) -> list[subprocess.Popen[str]]:
    cmd = [sys.executable, __file__, "--worker", "--database-url", url, "--data-dir", data_dir]
    if batch is not None:
        cmd += ["--batch", str(batch)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    for proc in procs:  # each has taken its first step (lease or not) before timers are due
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    return procs


def stop_workers(procs: list[subprocess.Popen[str]]) -> list[dict]:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--lead", type=float, default=15.0,
                        help="seconds from the end of set-up to the first due time")
    parser.add_argument("--window", type=float, default=60.0,
                        help="the due timers are spread over this many seconds")
    parser.add_argument("--batch", type=int, default=None,
                        help="instances fired per transaction (default: the service's)")
    parser.add_argument("--processes", type=int, default=1,
                        help="firing processes (each a TimerScheduler on the same database)")
    parser.add_argument("--database-url")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return run_worker(args.database_url, args.data_dir, args.batch)
    if args.processes < 1:
        parser.error("--processes: at least 1")
    if not 0 < args.due <= args.timers:
        parser.error("need 0 < --due <= --timers")

    # A sweep that runs longer than the 250 ms interval makes APScheduler log a skipped run.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    workdir = Path(tempfile.mkdtemp(prefix="sanchika-timers-"))
    url = fresh_database(args.database_url, workdir)
    settings = Settings.from_env({"SANCHIKA_DATA_DIR": str(workdir / "data"),
                                  "SANCHIKA_DATABASE_URL": url,
                                  "SANCHIKA_SECRET_KEY": "bench"})
    app = Sanchika(settings, handlers.registry)
    app.init()
    create_demo(app, "bench-password")
    if args.batch is not None:
        app.timer_batch = args.batch
    tpl = template(app)
    with app.db.transaction() as s:  # leave only the copies to the sweep
        s.execute(update(Timer).values(status="cancelled"))
        s.execute(update(OpenTask).values(warn_at=None))

    rng = random.Random(7)
    t0 = time.monotonic()
    later = [utcnow() + timedelta(hours=1, seconds=rng.uniform(0, 86400))
             for _ in range(args.timers - args.due)]
    copy_rows(app, tpl, later, first_serial=1)
    setup_not_due = time.monotonic() - t0
    first_due = utcnow() + timedelta(seconds=args.lead)
    dues = sorted(first_due + timedelta(seconds=rng.uniform(0, args.window * 0.99999))
                  for _ in range(args.due))
    t1 = time.monotonic()
    copy_rows(app, tpl, dues, first_serial=len(later) + 1)
    setup_due = time.monotonic() - t1
    if utcnow() >= first_due:
        print("warning: set-up overran the lead time; raise --lead", file=sys.stderr)
    due_ids_sql = select(Timer.instance_id).where(Timer.due_at >= first_due,
                                                  Timer.due_at <= dues[-1],
                                                  Timer.status == "pending")
    with app.db.reader() as s:
        due_ids = set(s.scalars(due_ids_sql))
    assert len(due_ids) == args.due
    print(f"set up {args.timers:,} pending timers in {setup_not_due + setup_due:.1f} s "
          f"({args.due:,} due from {first_due.isoformat()} within {args.window:g} s)", flush=True)

    workers = start_workers(args.processes, url, str(workdir / "data"), args.batch)
    if utcnow() >= first_due:
        print("warning: the firing processes started after the first due time; raise --lead",
              file=sys.stderr)
    last_due = dues[-1]
    try:
        while True:
            time.sleep(0.5)
            with app.db.reader() as s:
                pending = s.scalar(select(func.count()).where(
                    Timer.status == "pending", Timer.due_at <= last_due))
            if pending == 0 and utcnow() > last_due:
                break
        done_at = utcnow()
    finally:
        reports = stop_workers(workers)

    with app.db.reader() as s:
        events = s.execute(select(HistoryEvent.instance_id, HistoryEvent.data, HistoryEvent.at)
                           .where(HistoryEvent.kind == "timer_fired",
                                  HistoryEvent.instance_id != tpl["instance"].id)).all()
        outbox_rows = s.scalar(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.event_key.like("breach:%")))
        fired_at = max(e.at for e in events)
    per_instance: dict[int, int] = {}
    for e in events:
        per_instance[e.instance_id] = per_instance.get(e.instance_id, 0) + 1
    lags = [e.data["lag_ms"] for e in events]
    figures = {
        "database": app.db.engine.dialect.name,
        "timers": args.timers, "due": args.due, "due_window_seconds": args.window,
        "batch": app.timer_batch, "processes": args.processes,
        "load_average_1min": round(os.getloadavg()[0], 1),
        "setup_seconds": round(setup_not_due + setup_due, 1),
        "fired": len(per_instance),
        "duplicates": sum(1 for n in per_instance.values() if n > 1),
        "fired_not_due": len(set(per_instance) - due_ids),
        "missed": len(due_ids - set(per_instance)),
        "seconds_first_due_to_all_fired": round((fired_at - first_due).total_seconds(), 1),
        "seconds_last_due_to_all_fired": round((fired_at - last_due).total_seconds(), 1),
        "lag_ms_p50": percentile(lags, 0.50), "lag_ms_p99": percentile(lags, 0.99),
        "lag_ms_max": max(lags), "lag_ms_mean": round(statistics.mean(lags)),
        "fired_per_second": round(len(per_instance) / max(
            (fired_at - first_due).total_seconds(), 1e-9), 1),
        "breach_outbox_rows": outbox_rows,
        "fired_per_process": [r["fired"] for r in reports],
        "peak_rss_mb_per_process": [r["peak_rss_mb"] for r in reports],
        "observed_done_at": done_at.isoformat(),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    app.db.dispose()
    ok = figures["duplicates"] == 0 and figures["missed"] == 0 and figures["fired_not_due"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
