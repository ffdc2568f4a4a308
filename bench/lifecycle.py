"""Lifecycle benchmark: Sanchika's persisted service layer against raw in-memory SpiffWorkflow.

Both sides run the same workload for N files, step by step over all files:

  1. clerk diarises a receipt                  (starts a dak_receipt instance)
  2. clerk opens a file with the receipt in it (starts file_approval; completes the receipt task)
  3. clerk forwards the file to so, with a note
  4. so forwards to us
  5. us forwards to ds                         (ds can approve: the file reaches "approval")
  6. ds approves                               (service tasks lock_file, notify_approved)
  7. clerk closes the file, record category C

That is 7 actions and 6 user-task completions per file. Sanchika does each action through the
service layer (one DB transaction each, exactly as the API would); inbox look-ups that find task
ids are timed separately. Raw SpiffWorkflow persists nothing and calls no handlers.

Run: python bench/lifecycle.py [--files N] [--database-url URL] [--json PATH] [--profile]
See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

import handlers
from engine.app import DAK_PROCESS, FILE_PROCESS, PROCESS_DIR, Sanchika
from engine.bpm.codec import load_state
from engine.config import Settings
from engine.domain import org
from engine.ops.demo import create_demo
from engine.store.models import File, HistoryEvent, Instance, User

T = TypeVar("T")

PASSWORD = "bench-pass-1"
SLA = "P7D"  # what Sanchika puts in for a Normal-priority item
HEAD = "11011"
NOTE = "Put up for orders, please."

STEP_NAMES = (
    "diarise receipt",
    "open file with receipt",
    "clerk forwards to so",
    "so forwards to us",
    "us forwards to ds",
    "ds approves",
    "clerk closes",
)
COMPLETIONS_PER_FILE = 6  # every step but "diarise" completes exactly one user task

# SpiffWorkflow's own serializer with the spec embedded; the default config has no
# converter for the default ServiceTask, so map it to the plain task-spec converter.
_FULL_CONFIG = dict(DEFAULT_CONFIG)
_FULL_CONFIG[ServiceTask] = BpmnTaskSpecConverter
FULL_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_FULL_CONFIG))


# ---------------------------------------------------------------------------- measuring


@dataclass
class Step:
    name: str
    actions: int = 0
    completions: int = 0
    action_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of this process during the actions (time.process_time)
    lookups: int = 0
    lookup_s: float = 0.0
    lookup_rows: int = 0
    statements: int = 0  # SQL statements sent during the actions (Sanchika only)

    def ms_per_action(self) -> float:
        return 1000 * self.action_s / self.actions if self.actions else 0.0

    def ms_per_lookup(self) -> float:
        return 1000 * self.lookup_s / self.lookups if self.lookups else 0.0


@dataclass
class Side:
    """One side's timings; figures() turns them into rates."""

    label: str
    files: int
    steps: list[Step] = field(default_factory=lambda: [Step(name) for name in STEP_NAMES])

    def figures(self) -> dict[str, float | int]:
        actions = sum(s.actions for s in self.steps)
        completions = sum(s.completions for s in self.steps)
        action_s = sum(s.action_s for s in self.steps)
        cpu_s = sum(s.cpu_s for s in self.steps)
        lookup_s = sum(s.lookup_s for s in self.steps)
        return {
            "cpu_seconds": cpu_s,
            "cpu_ms_per_action": 1000 * cpu_s / actions,
            "cpu_ms_per_completion": 1000 * cpu_s / completions,
            "actions": actions,
            "completions": completions,
            "action_seconds": action_s,
            "lookups": sum(s.lookups for s in self.steps),
            "lookup_seconds": lookup_s,
            "completions_per_second": completions / action_s,
            "completions_per_second_with_lookups": completions / (action_s + lookup_s),
            "files_per_second": self.files / action_s,
            "mean_ms_per_action": 1000 * action_s / actions,
            "sql_statements_per_action": sum(s.statements for s in self.steps) / actions,
        }


class StatementCounter:
    """Counts SQL statements sent through the given engines."""

    def __init__(self, *engines: Engine):
        self.count = 0
        for engine in set(engines):
            event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


class Stopwatch:
    """Times calls into a Step. A profiler, if given, sees only the timed actions."""

    def __init__(self, tick: Callable[[], Any], profiler: cProfile.Profile | None = None,
                 statements: StatementCounter | None = None):
        self.tick = tick
        self.profiler = profiler
        self.statements = statements

    def action(self, step: Step, call: Callable[[], T], completions: int) -> T:
        sent_before = self.statements.count if self.statements else 0
        if self.profiler is not None:
            self.profiler.enable()
        start = time.perf_counter()
        cpu_start = time.process_time()
        try:
            result = call()
        finally:
            step.cpu_s += time.process_time() - cpu_start
            step.action_s += time.perf_counter() - start
            if self.profiler is not None:
                self.profiler.disable()
        if self.statements is not None:
            step.statements += self.statements.count - sent_before
        step.actions += 1
        step.completions += completions
        self.tick()
        return result

    def lookup(self, step: Step, call: Callable[[], list[T]]) -> list[T]:
        start = time.perf_counter()
        rows = call()
        step.lookup_s += time.perf_counter() - start
        step.lookups += 1
        step.lookup_rows += len(rows)
        return rows


@contextmanager
def progress(total: int, desc: str) -> Iterator[Callable[[], Any]]:
    """A tqdm bar when tqdm is installed; otherwise nothing."""
    try:
        from tqdm import tqdm
    except ImportError:
        yield lambda: None
        return
    bar = tqdm(total=total, desc=desc, unit="action", leave=False, file=sys.stderr)
    try:
        yield bar.update
    finally:
        bar.close()


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mib() -> float | None:
    """Resident set size now (Linux /proc); None where that is not available."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


# ---------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Posts:
    clerk: int
    so: int
    us: int
    ds: int


def prepare_database(url: str | None, tmp: Path) -> str:
    """A fresh database: a new SQLite file, or PostgreSQL's schema public dropped and remade."""
    if url is None:
        return f"sqlite:///{tmp / 'bench.db'}"
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    elif backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:":
            raise SystemExit("error: SQLite needs a file (Sanchika opens two engines on it)")
        if Path(path).exists() and Path(path).stat().st_size > 0:
            raise SystemExit(f"error: {path} already exists; give a fresh SQLite file")
    else:
        raise SystemExit(f"error: unsupported database '{backend}' (SQLite or PostgreSQL)")
    return url


def make_app(database_url: str, data_dir: Path) -> Sanchika:
    settings = Settings.from_env({"SANCHIKA_DATA_DIR": str(data_dir),
                                  "SANCHIKA_DATABASE_URL": database_url})
    app = Sanchika(settings, handlers.registry)
    app.init()
    create_demo(app, PASSWORD)
    return app


def load_users(app: Sanchika) -> dict[str, User]:
    with app.db.reader() as s:
        return {name: org.user_by_username(s, name) for name in ("clerk", "so", "us", "ds")}


# ---------------------------------------------------------------------------- Sanchika side


def file_tasks(app: Sanchika, user: User, file_ids: list[int], sw: Stopwatch, step: Step
               ) -> dict[int, int]:
    """One inbox listing per step: task id for each of our files in the user's inbox."""
    rows = sw.lookup(step, partial(app.inbox, user))
    wanted = set(file_ids)
    found = {row["file_id"]: row["id"] for row in rows if row.get("file_id") in wanted}
    missing = wanted - found.keys()
    if missing:
        raise RuntimeError(f"{step.name}: {len(missing)} files not in {user.username}'s inbox")
    return found


def act_on_all(app: Sanchika, user: User, file_ids: list[int], body: dict[str, Any],
               sw: Stopwatch, step: Step) -> None:
    tasks = file_tasks(app, user, file_ids, sw, step)
    for file_id in file_ids:
        sw.action(step, partial(app.act, user, tasks[file_id], body), completions=1)


def run_sanchika(app: Sanchika, n: int, sw: Stopwatch,
                 on_midway: Callable[[list[int]], None]) -> Side:
    users = load_users(app)
    clerk, so, us, ds = (users[k] for k in ("clerk", "so", "us", "ds"))
    side = Side("Sanchika", n)
    diarise, open_, to_so, to_us, to_ds, approve, close = side.steps
    receipt_ids = [
        sw.action(diarise, partial(app.diarise, clerk, {
            "sender": "Director, Treasury", "subject": f"Bench letter {i}", "mode": "post"}),
            completions=0)["id"]
        for i in range(n)]
    file_ids = [
        sw.action(open_, partial(app.open_file, clerk, f"Bench file {i}", HEAD,
                                 receipt_id=receipt_id), completions=1)["id"]
        for i, receipt_id in enumerate(receipt_ids)]
    act_on_all(app, clerk, file_ids, {"action": "forward", "to": "so", "note": NOTE}, sw, to_so)
    on_midway(file_ids)
    act_on_all(app, so, file_ids, {"action": "forward", "to": "us"}, sw, to_us)
    act_on_all(app, us, file_ids, {"action": "forward", "to": "ds"}, sw, to_ds)
    act_on_all(app, ds, file_ids, {"action": "approve"}, sw, approve)
    act_on_all(app, clerk, file_ids, {"action": "close", "record_category": "C"}, sw, close)
    check_sanchika(app, receipt_ids, file_ids,
                   expected_completions=int(side.figures()["completions"]))
    return side


def check_sanchika(app: Sanchika, receipt_ids: list[int], file_ids: list[int],
                   expected_completions: int) -> None:
    """Every file closed, every instance finished, and exactly the completions we counted
    persisted as task_completed history events."""
    ours = ((Instance.subject_kind == "file") & Instance.subject_id.in_(file_ids)) | (
        (Instance.subject_kind == "receipt") & Instance.subject_id.in_(receipt_ids))
    with app.db.reader() as s:
        closed = s.scalar(select(func.count()).select_from(File).where(
            File.id.in_(file_ids), File.status == "closed"))
        finished = s.scalar(select(func.count()).select_from(Instance).where(
            ours, Instance.status == "completed"))
        persisted = s.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.kind == "task_completed",
            HistoryEvent.instance_id.in_(select(Instance.id).where(ours))))
    problems = []
    if closed != len(file_ids):
        problems.append(f"{closed} of {len(file_ids)} files closed")
    if finished != len(file_ids) + len(receipt_ids):
        problems.append(f"{finished} of {len(file_ids) + len(receipt_ids)} instances completed")
    if persisted != expected_completions:
        problems.append(f"{persisted} task completions persisted, counted {expected_completions}")
    if problems:
        raise RuntimeError("Sanchika run did not finish cleanly: " + "; ".join(problems))


def stored_state_sizes(app: Sanchika, file_ids: list[int]) -> dict[str, float]:
    """Stored (spec-free) state versus SpiffWorkflow's full JSON, for the same workflows."""
    with app.db.reader() as s:
        all_running = s.scalar(text(
            "SELECT avg(length(state)) FROM instances WHERE state IS NOT NULL"))
        instances = s.scalars(select(Instance).where(
            Instance.subject_kind == "file", Instance.subject_id.in_(file_ids))).all()
        stored = [len(i.state.encode("utf-8")) for i in instances if i.state]
        # deserialized here, not through the runtime: its workflow cache hands a workflow
        # out to one user at a time (taking it out), and this look must not leave the next
        # timed step to deserialize every file again
        full = [len(FULL_SERIALIZER.serialize_json(_deserialize(app, i)).encode("utf-8"))
                for i in instances if i.state]
    return {
        "stored_avg_all_running_sql": float(all_running or 0),
        "stored_avg_bench_files": mean(stored),
        "full_with_spec_avg_same_workflows": mean(full),
    }


def _deserialize(app: Sanchika, instance: Instance) -> BpmnWorkflow:
    read = app.runtime.definitions.loaded(instance.definition)
    return load_state(instance.state or "", read.spec, read.subprocess_specs,
                      app.runtime.script_engine)


# ---------------------------------------------------------------------------- raw side


@dataclass(frozen=True)
class RawSpecs:
    file: BpmnProcessSpec
    file_subprocesses: dict[str, BpmnProcessSpec]
    dak: BpmnProcessSpec
    dak_subprocesses: dict[str, BpmnProcessSpec]


def parse_specs() -> RawSpecs:
    parser = BpmnParser()
    parser.add_bpmn_files([str(PROCESS_DIR / f"{FILE_PROCESS}.bpmn"),
                           str(PROCESS_DIR / f"{DAK_PROCESS}.bpmn")])
    return RawSpecs(parser.get_spec(FILE_PROCESS), parser.get_subprocess_specs(FILE_PROCESS),
                    parser.get_spec(DAK_PROCESS), parser.get_subprocess_specs(DAK_PROCESS))


def raw_engine_steps(workflow: BpmnWorkflow) -> None:
    """As engine/bpm/runtime.py does: service tasks wait in STARTED; complete them and go on."""
    while True:
        workflow.do_engine_steps()
        started = [t for t in workflow.get_tasks(state=TaskState.STARTED)
                   if isinstance(t.task_spec, ServiceTask)]
        if not started:
            return
        for task in started:
            task.complete()


def raw_start(spec: BpmnProcessSpec, subprocesses: dict[str, BpmnProcessSpec],
              data: dict[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocesses)  # SpiffWorkflow's default script engine
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    raw_engine_steps(workflow)
    return workflow


def raw_complete(workflow: BpmnWorkflow, data: dict[str, Any]) -> None:
    """Complete the one ready user task with data (finding it is part of the action)."""
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    if len(ready) != 1:
        raise RuntimeError(f"expected one ready user task, found {len(ready)}")
    task = ready[0]
    task.data.update(data)
    task.run()
    raw_engine_steps(workflow)


def raw_open_file(specs: RawSpecs, posts: Posts, file_id: int, receipt: BpmnWorkflow
                  ) -> BpmnWorkflow:
    workflow = raw_start(specs.file, specs.file_subprocesses, {
        "file_id": file_id, "creator_post": posts.clerk, "holder_post": posts.clerk,
        "to_approver": False, "sla_duration": SLA})
    raw_complete(receipt, {"action": "put_in_file", "file_id": file_id})
    return workflow


def raw_act_on_all(workflows: list[BpmnWorkflow], data: dict[str, Any], sw: Stopwatch,
                   step: Step) -> None:
    for workflow in workflows:
        sw.action(step, partial(raw_complete, workflow, data), completions=1)


def run_raw(specs: RawSpecs, posts: Posts, n: int, sw: Stopwatch,
            on_midway: Callable[[list[BpmnWorkflow]], None]) -> Side:
    side = Side("raw SpiffWorkflow", n)
    diarise, open_, to_so, to_us, to_ds, approve, close = side.steps
    receipts = [
        sw.action(diarise, partial(raw_start, specs.dak, specs.dak_subprocesses, {
            "receipt_id": i + 1, "holder_post": posts.clerk, "sla_duration": SLA}), completions=0)
        for i in range(n)]
    files = [sw.action(open_, partial(raw_open_file, specs, posts, i + 1, receipt), completions=1)
             for i, receipt in enumerate(receipts)]
    raw_act_on_all(files, {"action": "forward", "holder_post": posts.so, "to_approver": False},
                   sw, to_so)
    on_midway(files)
    raw_act_on_all(files, {"action": "forward", "holder_post": posts.us, "to_approver": False},
                   sw, to_us)
    raw_act_on_all(files, {"action": "forward", "holder_post": posts.ds, "to_approver": True},
                   sw, to_ds)
    raw_act_on_all(files, {"action": "approve"}, sw, approve)
    raw_act_on_all(files, {"action": "close", "record_category": "C"}, sw, close)
    unfinished = sum(not w.is_completed() for w in receipts + files)
    if unfinished:
        raise RuntimeError(f"raw run: {unfinished} workflows did not complete")
    return side


def raw_state_size(workflows: list[BpmnWorkflow]) -> float:
    return mean([len(FULL_SERIALIZER.serialize_json(w).encode("utf-8")) for w in workflows])


# ---------------------------------------------------------------------------- report


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def fmt_mib(value: float | None) -> str:
    return f"{value:>10.1f}" if value is not None else f"{'n/a':>10}"


def report(result: dict[str, Any], sanchika: Side, raw: Side) -> str:
    s, r = result["sanchika"], result["raw"]
    lines = [
        f"Sanchika lifecycle benchmark: {result['files']} files, {result['database']}",
        f"  {result['database_url']}",
        f"  Sanchika {result['versions']['sanchika']}, "
        f"SpiffWorkflow {result['versions']['SpiffWorkflow']}, "
        f"SQLAlchemy {result['versions']['SQLAlchemy']}, Python {result['versions']['python']}",
        "",
        f"{'':40}{'Sanchika (persisted)':>22}{'raw SpiffWorkflow':>20}",
        f"{'actions':40}{s['actions']:>22,}{r['actions']:>20,}",
        f"{'user-task completions':40}{s['completions']:>22,}{r['completions']:>20,}",
        f"{'time in actions (s)':40}{s['action_seconds']:>22.3f}{r['action_seconds']:>20.3f}",
        f"{'completions / second':40}{s['completions_per_second']:>22,.1f}"
        f"{r['completions_per_second']:>20,.1f}",
        f"{'files / second (whole lifecycle)':40}{s['files_per_second']:>22,.2f}"
        f"{r['files_per_second']:>20,.2f}",
        f"{'mean ms per action':40}{s['mean_ms_per_action']:>22.3f}"
        f"{r['mean_ms_per_action']:>20.3f}",
        f"{'CPU ms per action':40}{s['cpu_ms_per_action']:>22.3f}"
        f"{r['cpu_ms_per_action']:>20.3f}",
        f"{'SQL statements per action':40}{s['sql_statements_per_action']:>22.1f}{'-':>20}",
        f"{'inbox look-ups: calls / total s':40}"
        f"{str(s['lookups']) + ' / ' + format(s['lookup_seconds'], '.3f'):>22}{'-':>20}",
        f"{'completions / second incl. look-ups':40}"
        f"{s['completions_per_second_with_lookups']:>22,.1f}{'-':>20}",
        "",
        f"{'per step, mean ms per action':34}{'Sanchika':>10}{'raw':>8}{'x slower':>10}"
        f"{'SQL/action':>12}{'CPU ms':>8}{'inbox ms (rows)':>18}",
    ]
    for ss, rs in zip(sanchika.steps, raw.steps, strict=True):
        inbox = (f"{ss.ms_per_lookup():.1f} ({ss.lookup_rows // ss.lookups})"
                 if ss.lookups else "-")
        ratio = ss.ms_per_action() / rs.ms_per_action() if rs.action_s else 0.0
        lines.append(f"  {ss.name:32}{ss.ms_per_action():>10.3f}{rs.ms_per_action():>8.3f}"
                     f"{ratio:>10.1f}{ss.statements / ss.actions:>12.1f}"
                     f"{1000 * ss.cpu_s / ss.actions:>8.2f}{inbox:>18}")
    ratio = result["ratio_raw_over_sanchika"]
    cpu_ratio = result["ratio_cpu_raw_over_sanchika"]
    sizes, rss = result["state_bytes"], result["rss_mib"]
    lines += [
        "",
        f"SQL statements per action (Sanchika): {result['sql_statements_per_action']:.1f}",
        f"Ratio in CPU time (Sanchika CPU ms per completion / raw): {cpu_ratio:.1f}",
        f"Ratio in wall-clock time (raw / Sanchika completions per second): {ratio:.1f}",
        f"  Sanchika is {ratio:.1f} times slower than raw in-memory SpiffWorkflow, "
        "which persists nothing.",
        "",
        "Workflow state of a file waiting at so's desk (bytes)",
        f"  {'Sanchika stored state, avg over all running instances (SQL)':66}"
        f"{fmt_int(sizes['stored_avg_all_running_sql']):>10}",
        f"  {'Sanchika stored state, avg over the bench files':66}"
        f"{fmt_int(sizes['stored_avg_bench_files']):>10}",
        f"  {'SpiffWorkflow full JSON with spec, same workflows loaded from DB':66}"
        f"{fmt_int(sizes['full_with_spec_avg_same_workflows']):>10}",
        f"  {'SpiffWorkflow full JSON with spec, raw in-memory workflows':66}"
        f"{fmt_int(sizes['full_with_spec_avg_raw']):>10}",
        f"  full / stored: {sizes['full_over_stored']:.1f}x",
        "",
        "Memory (MiB): peak RSS is the process high-water mark (raw runs first)",
        f"  {'peak RSS after set-up (init, demo, specs parsed)':66}{fmt_mib(rss['peak_setup'])}",
        f"  {'peak RSS after the raw SpiffWorkflow run':66}{fmt_mib(rss['peak_after_raw'])}",
        f"  {'peak RSS after the Sanchika run':66}{fmt_mib(rss['peak_after_sanchika'])}",
        f"  {'RSS now, raw mid-way (all workflows held in memory)':66}"
        f"{fmt_mib(rss.get('now_raw_midway'))}",
        f"  {'RSS now, Sanchika mid-way (state lives in the database)':66}"
        f"{fmt_mib(rss.get('now_sanchika_midway'))}",
    ]
    return "\n".join(lines)


def profile_report(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    return f"cProfile of the Sanchika actions (top {top} by cumulative time; timings above " \
           f"are inflated by the profiler)\n{out.getvalue()}"


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run N files through the whole Sanchika lifecycle (persisted, one "
                    "transaction per action) and the same workload on raw in-memory "
                    "SpiffWorkflow, and compare.")
    parser.add_argument("--files", type=int, default=200, metavar="N",
                        help="number of files (default 200)")
    parser.add_argument("--database-url", metavar="URL",
                        help="SQLAlchemy URL (default: a fresh SQLite file in a temp dir). "
                             "WARNING: for PostgreSQL this DROPS SCHEMA public CASCADE and "
                             "recreates it, wiping everything in that database.")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write figures as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the Sanchika actions and print the top entries")
    parser.add_argument("--profile-top", type=int, default=15, metavar="K",
                        help="entries to print with --profile (default 15)")
    parser.add_argument("--profile-out", type=Path, metavar="PATH",
                        help="with --profile, also dump the raw stats (for pstats/snakeviz)")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be at least 1")
    return args


def versions() -> dict[str, str]:
    return {"SpiffWorkflow": version("SpiffWorkflow"), "SQLAlchemy": version("SQLAlchemy"),
            "python": platform.python_version(), "sanchika": git_revision()}


def git_revision() -> str:
    """The commit measured, '+dirty' when tracked files have uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        revision = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return revision + ("+dirty" if dirty else "")


def run(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], Side, Side, str]:
    n = args.files
    url = prepare_database(args.database_url, tmp)
    app = make_app(url, tmp / "data")
    users = load_users(app)
    posts = Posts(*(users[k].post_id for k in ("clerk", "so", "us", "ds")))
    specs = parse_specs()
    rss: dict[str, float | None] = {"peak_setup": peak_rss_mib()}
    sizes: dict[str, float] = {}

    def raw_midway(workflows: list[BpmnWorkflow]) -> None:
        rss["now_raw_midway"] = current_rss_mib()
        sizes["full_with_spec_avg_raw"] = raw_state_size(workflows)

    def sanchika_midway(file_ids: list[int]) -> None:
        rss["now_sanchika_midway"] = current_rss_mib()
        sizes.update(stored_state_sizes(app, file_ids))

    total = len(STEP_NAMES) * n
    with progress(total, "raw SpiffWorkflow") as tick:
        raw = run_raw(specs, posts, n, Stopwatch(tick), raw_midway)
    rss["peak_after_raw"] = peak_rss_mib()
    profiler = cProfile.Profile() if args.profile else None
    with progress(total, "Sanchika") as tick:
        counter = StatementCounter(app.db.engine, app.db.write_engine)
        sanchika = run_sanchika(app, n, Stopwatch(tick, profiler, counter), sanchika_midway)
    rss["peak_after_sanchika"] = peak_rss_mib()
    app.db.dispose()
    for side in (raw, sanchika):
        if side.figures()["completions"] != COMPLETIONS_PER_FILE * n:
            raise RuntimeError(f"{side.label}: completed {side.figures()['completions']} "
                               f"user tasks, expected {COMPLETIONS_PER_FILE * n}")
    sizes["full_over_stored"] = (sizes["full_with_spec_avg_same_workflows"]
                                 / sizes["stored_avg_bench_files"])
    s_fig, r_fig = sanchika.figures(), raw.figures()
    result = {
        "files": n,
        "database": "PostgreSQL" if url.startswith("postgresql") else "SQLite",
        "database_url": make_url(url).render_as_string(hide_password=True),
        "versions": versions(),
        "sanchika": s_fig,
        "raw": r_fig,
        "ratio_raw_over_sanchika": r_fig["completions_per_second"]
        / s_fig["completions_per_second"],
        # the same ratio in CPU time of this process (the database server's own work on
        # PostgreSQL is not in it; on a loaded machine this is the steadier figure)
        "ratio_cpu_raw_over_sanchika": s_fig["cpu_ms_per_completion"]
        / r_fig["cpu_ms_per_completion"],
        "sql_statements_per_action": s_fig["sql_statements_per_action"],
        "steps": {"sanchika": [asdict(s) for s in sanchika.steps],
                  "raw": [asdict(s) for s in raw.steps]},
        "state_bytes": sizes,
        "rss_mib": rss,
        "profiled": bool(args.profile),
    }
    extra = ""
    if profiler is not None:
        extra = profile_report(profiler, args.profile_top)
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
    return result, sanchika, raw, extra


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sanchika-bench-") as tmp:
        result, sanchika, raw, extra = run(args, Path(tmp))
    print(report(result, sanchika, raw))
    if extra:
        print()
        print(extra)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
