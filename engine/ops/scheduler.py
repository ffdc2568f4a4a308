"""Background jobs of a running server: the timer sweep (every process on PostgreSQL,
one on SQLite), and checkpoints, backups and the other singleton jobs (one process).

The timers themselves are rows in `timers` (written in the action's transaction, indexed
by due time). The sweep job that fires them every 250 ms lives in an in-memory job store,
added afresh whenever a process takes the lease, so its own schedule writes nothing to the
database four times a second; checkpoint and backup jobs stay durable (APScheduler's
SQLAlchemy job store, table `scheduler_jobs`). Job rows stored before the code moved into
engine/ops/ name their functions by the old module paths; `MOVED_JOB_MODULES` keeps those
paths importable. Every server process
runs a small lease keeper (engine/ops/lease.py): the process holding the lease starts the
APScheduler scheduler with the singleton jobs, the others wait and take over within a few
seconds when the holder dies. The first sweep runs as soon as the lease is taken, so timers
that came due while no server was running fire at once.

Who fires timers: on SQLite (one writer at a time) only the lease holder. On PostgreSQL
every process sweeps (its own in-memory scheduler, from start to shutdown): each batch
claims its timer and instance rows with `FOR UPDATE SKIP LOCKED` inside the firing
transaction (engine/domain/timer_claims.py), so processes share a burst of due timers and
never fire one instance twice. The due-soon warnings stay with the lease holder.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from datetime import UTC, datetime

from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from engine.app import Sanchika
from engine.errors import Conflict
from engine.exchange import schedule as exchange_schedule
from engine.intake import schedule as intake_schedule
from engine.ocr import schedule as ocr_schedule
from engine.ops import alerts, backup_schedule, retention_schedule, review_schedule
from engine.ops.lease import Lease

log = logging.getLogger(__name__)
# A run longer than the 250 ms interval is normal under load: APScheduler's "skipped:
# maximum number of running instances reached" is not worth a warning each time.
logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
SWEEP_JOB = "sanchika-timer-sweep"
CHECKPOINT_JOB = "sanchika-checkpoint"
SWEEP_BUDGET = 1.0  # seconds of firing per run; the next run (250 ms later) goes on
_schedulers: dict[str, TimerScheduler] = {}
MEMORY_STORE = "memory"
# old module path (in job rows stored by earlier versions) -> where it lives now
MOVED_JOB_MODULES = {
    "engine.scheduler": "engine.ops.scheduler",
    "engine.backup_schedule": "engine.ops.backup_schedule",
}


def _keep_moved_job_paths() -> None:
    """APScheduler resolves a stored job's "module:function" by importing the module: the
    old names import the modules that hold those functions now."""
    for old, new in MOVED_JOB_MODULES.items():
        if old not in sys.modules:
            sys.modules[old] = importlib.import_module(new)


def sweep_timers(app_key: str) -> None:
    """The sweep job's target (referenced by "module:function", as APScheduler does)."""
    keeper = _schedulers.get(app_key)
    if keeper is None:
        return
    holder = keeper.lease.held
    if not (holder or keeper.shared_firing):
        return  # not the lease holder (any more): another process sweeps
    # A bounded run, so one sweep never holds the SQLite write lock for long.
    fired = keeper.app.fire_due_timers(budget_seconds=SWEEP_BUDGET)
    warned = keeper.app.warn_due_soon() if holder else 0
    if fired or warned:
        log.info("fired timers of %d instance(s); %d due-soon warning(s)", fired, warned,
                 extra={"event": "timers_fired", "instances": fired, "warned": warned})


class TimerScheduler:
    def __init__(self, app: Sanchika, *, interval: float = 0.25, lease_ttl: float = 5.0,
                 renew_every: float = 1.0):
        self.app = app
        self.interval = interval
        self.renew_every = renew_every
        self.lease = Lease(app.db, ttl=lease_ttl)
        self.key = app.settings.database_url
        self._jobs: BackgroundScheduler | None = None
        # PostgreSQL: every process fires timers (claims with SKIP LOCKED); SQLite: one.
        self.shared_firing = not app.db.is_sqlite
        self._sweeper: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="sanchika-lease", daemon=True)

    @property
    def stopping(self) -> bool:
        """Shutting down: long jobs (reading scans) stop at their next safe point."""
        return self._stop.is_set()

    @property
    def active(self) -> bool:
        return self._jobs is not None

    def get_job(self, job_id: str) -> Job | None:
        """A job of the running APScheduler scheduler (None while another process holds
        the lease); on PostgreSQL the timer sweep is this process's own, lease or not."""
        if job_id == SWEEP_JOB and self._sweeper is not None:
            return self._sweeper.get_job(job_id)
        return self._jobs.get_job(job_id) if self._jobs is not None else None

    def start(self) -> TimerScheduler:
        _schedulers[self.key] = self
        self._step()  # take the lease (if free) before serving, so late timers fire first
        if self.shared_firing:
            self._sweeper = BackgroundScheduler(
                jobstores={MEMORY_STORE: MemoryJobStore()}, timezone=UTC,
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
            self._sweeper.start()
            self._add_sweep(self._sweeper)
        self._thread.start()
        return self

    def shutdown(self, wait: bool = True) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None and sweeper.running:
            sweeper.shutdown(wait=wait)
        self._stop_jobs(wait)
        try:
            self.lease.release()
        except Exception:  # the database may be gone at exit; the lease then just expires
            log.warning("could not release the scheduler lease", exc_info=True)
        if _schedulers.get(self.key) is self:
            del _schedulers[self.key]

    def _keep(self) -> None:
        while not self._stop.wait(self.renew_every):
            self._step()

    def _step(self) -> None:
        try:
            held = self.lease.acquire()
        except Exception:
            log.warning("scheduler lease: database unavailable", exc_info=True)
            held = False
        if held and self._jobs is None:
            log.info("scheduler lease taken by %s: firing timers", self.lease.holder,
                     extra={"event": "lease_taken", "holder": self.lease.holder})
            try:
                self._start_jobs()
            except Exception:  # e.g. the job store busy; the next step tries again
                log.warning("could not start the timer sweep", exc_info=True)
                self._stop_jobs(wait=False)
        elif not held and self._jobs is not None:
            log.info("scheduler lease lost by %s", self.lease.holder,
                     extra={"event": "lease_lost", "holder": self.lease.holder})
            self._stop_jobs(wait=False)

    def _start_jobs(self) -> None:
        # The job store shares the service's write engine: on SQLite its writes queue
        # behind ours (BEGIN IMMEDIATE, 30 s busy timeout) instead of failing after 5 s.
        store = SQLAlchemyJobStore(engine=self.app.db.write_engine, tablename="scheduler_jobs")
        jobs = BackgroundScheduler(
            jobstores={"default": store, MEMORY_STORE: MemoryJobStore()}, timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        self._jobs = jobs
        jobs.start()
        # A durable sweep row left by an earlier version goes: the sweep is in memory now.
        if jobs.get_job(SWEEP_JOB, jobstore="default") is not None:
            jobs.remove_job(SWEEP_JOB, jobstore="default")
        if self.shared_firing:  # the process's own sweeper fires; the holder also warns
            self._sweeper_runs_now()
        else:
            self._add_sweep(jobs)
        # Checkpoints and backups are the lease holder's too: one process, not one per worker.
        minutes = self.app.settings.checkpoint_minutes
        if minutes > 0:
            jobs.add_job(f"{__name__}:take_checkpoint", "interval", minutes=minutes,
                         id=CHECKPOINT_JOB, args=[self.key], replace_existing=True)
        elif jobs.get_job(CHECKPOINT_JOB) is not None:
            jobs.remove_job(CHECKPOINT_JOB)
        backup_schedule.install(jobs, self.app.settings)
        alerts.install(jobs, self.app.settings, self.app.db)
        intake_schedule.install(jobs, self.app, self.key)  # mailboxes, if configured
        ocr_schedule.install(jobs, self.app, self.key)  # reading scanned PDFs
        exchange_schedule.install(jobs, self.app, self.key)  # packages for partners
        review_schedule.install(jobs, self.app)  # the weekly review
        # the daily prune; it stops at its next batch on shutdown or when the lease goes
        retention_schedule.install(jobs, self.app,
                                   lambda: self.stopping or not self.lease.held)

    def _add_sweep(self, jobs: BackgroundScheduler) -> None:
        # next_run_time now: the first sweep (overdue timers) runs at once.
        jobs.add_job(f"{__name__}:sweep_timers", "interval", seconds=self.interval,
                     id=SWEEP_JOB, args=[self.key], replace_existing=True,
                     jobstore=MEMORY_STORE, next_run_time=datetime.now(UTC))

    def _sweeper_runs_now(self) -> None:
        """A newly taken lease: the next sweep (with the due-soon warnings) runs at once."""
        sweeper = self._sweeper
        if sweeper is not None and sweeper.running:
            sweeper.modify_job(SWEEP_JOB, jobstore=MEMORY_STORE, next_run_time=datetime.now(UTC))

    def _stop_jobs(self, wait: bool) -> None:
        jobs, self._jobs = self._jobs, None
        if jobs is not None and jobs.running:
            jobs.shutdown(wait=wait)


def take_checkpoint(app_key: str) -> None:
    """The durable checkpoint job's target."""
    keeper = _schedulers.get(app_key)
    if keeper is None or not keeper.lease.held:
        return
    try:
        cp = keeper.app.checkpoint()
    except Conflict:
        return  # another process took this checkpoint at the same moment
    log.info("checkpoint #%d: %d chain head(s) recorded", cp["seq"], cp["instances"],
             extra={"event": "checkpoint", "seq": cp["seq"], "instances": cp["instances"]})


def start(app: Sanchika, interval_seconds: float = 0.25, lease_ttl: float = 5.0
          ) -> TimerScheduler:
    """Start the lease keeper (and, while holding the lease, the timer sweep)."""
    return TimerScheduler(app, interval=interval_seconds, lease_ttl=lease_ttl).start()


_keep_moved_job_paths()
