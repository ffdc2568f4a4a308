"""Where the scheduler keeps its jobs: the 250 ms timer sweep in memory (re-added when a
process takes the lease, so its schedule writes nothing), checkpoints durable; job rows
stored before the modules moved into engine/ops/ still load."""

from __future__ import annotations

import pickle

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, update

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.ops import backup_schedule, scheduler


def _rows(app: Sanchika) -> dict[str, dict]:
    store = SQLAlchemyJobStore(engine=app.db.write_engine, tablename="scheduler_jobs")
    table = store.jobs_t
    with app.db.write_engine.connect() as conn:
        return {row.id: pickle.loads(row.job_state)  # noqa: S301 (our own job rows)
                for row in conn.execute(select(table.c.id, table.c.job_state))}


def test_sweep_job_is_in_memory_and_checkpoint_job_durable(settings, users):
    app = Sanchika(Settings(**{**settings.__dict__, "checkpoint_minutes": 30}),
                   handlers.registry)
    app.init()
    jobs = scheduler.start(app, interval_seconds=5)
    try:
        sweep = jobs.get_job(scheduler.SWEEP_JOB)
        assert sweep is not None
        assert sweep.func is scheduler.sweep_timers
        stored = _rows(app)
        assert scheduler.SWEEP_JOB not in stored
        assert stored[scheduler.CHECKPOINT_JOB]["func"] == "engine.ops.scheduler:take_checkpoint"
    finally:
        jobs.shutdown(wait=True)
    app.db.dispose()


def test_job_rows_stored_under_the_old_module_paths_still_load(settings):
    app = Sanchika(settings, handlers.registry)
    app.init()
    store = SQLAlchemyJobStore(engine=app.db.write_engine, tablename="scheduler_jobs")
    old = BackgroundScheduler(jobstores={"default": store})
    old.start(paused=True)  # paused: the jobs are stored, none runs
    old.add_job(scheduler.take_checkpoint, "interval", minutes=60, id="old-checkpoint",
                args=["k"])
    old.add_job(scheduler.sweep_timers, "interval", seconds=1, id=scheduler.SWEEP_JOB,
                args=["k"])
    old.add_job(backup_schedule.ship, "interval", minutes=60, id="old-backup", args=["k"])
    old.shutdown(wait=True)
    # rewrite the rows as the code before the move stored them
    paths = {"old-checkpoint": "engine.scheduler:take_checkpoint",
             scheduler.SWEEP_JOB: "engine.scheduler:sweep_timers",
             "old-backup": "engine.backup_schedule:ship"}
    rows = _rows(app)
    assert set(rows) == set(paths)
    with app.db.write_engine.begin() as conn:
        for job_id, state in rows.items():
            state["func"] = paths[job_id]
            conn.execute(update(store.jobs_t).where(store.jobs_t.c.id == job_id)
                         .values(job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))
    loaded = {job.id: job.func for job in
              SQLAlchemyJobStore(engine=app.db.write_engine,
                                 tablename="scheduler_jobs").get_all_jobs()}
    assert loaded == {"old-checkpoint": scheduler.take_checkpoint,
                      scheduler.SWEEP_JOB: scheduler.sweep_timers,
                      "old-backup": backup_schedule.ship}
    # a server starting on that database drops the durable sweep row and sweeps from memory
    jobs = scheduler.start(app, interval_seconds=5)
    try:
        assert jobs.get_job(scheduler.SWEEP_JOB).func is scheduler.sweep_timers
        assert scheduler.SWEEP_JOB not in _rows(app)
        assert "old-checkpoint" in _rows(app)
    finally:
        jobs.shutdown(wait=True)
    app.db.dispose()
