"""`sanchika verify` at scale: incremental by default, streamed, optionally in parallel.

The checks themselves are engine/audit/verify.py's; this module decides what to check and
where.

- **Incremental** (the default once an intact run left a verification mark,
  engine/audit/marks.py): the instances re-checked in full (chain re-hashed, lock targets,
  re-execution, their locked file, their signatures) are those with an event newer than
  the mark's event id, and those whose chain head is not the one their newest checkpoint
  recorded (or that no checkpoint recorded yet). Every other instance is confirmed by its
  checkpoint: the checkpoints' chain and MACs are re-checked, and every recorded head must
  still be the event in its chain (engine/audit/checkpoints.py) — so deleting, rewriting
  or removing an unchanged chain is caught too. What an incremental run cannot see is an
  unchanged instance's *older* event edited with its stored hashes left alone, or a
  locked file of an unchanged instance whose notes were edited behind the database's
  triggers: `--full` re-checks those (run it on a schedule, e.g. weekly).
- **Full** (`--full`, or no trusted mark): every instance, locked file and signature.
- **Streamed**: instance ids are paged by key; each chunk of instances is checked in its
  own short read transaction (an instance's events, state and row are written in one
  transaction, so one chunk's snapshot is consistent for each of its instances) instead of
  one snapshot for hours; at most a few chunks are in flight.
- **Parallel** (`workers` > 1): chunks go to worker processes, each with its own database
  connection and process definitions (re-execution is CPU-bound).

The new mark's event id is the newest event at least `MARGIN` old: on PostgreSQL an event
id can become visible after a larger one (its transaction commits later), so the newest
few minutes are re-checked on the next run rather than skipped.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.audit import checkpoints, passkeys, signing
from engine.audit import verify as checks
from engine.audit.keys import AuditKeys
from engine.audit.marks import Mark, latest
from engine.bpm.definitions import Definitions
from engine.bpm.reexecute import Reexecutor
from engine.store.audit_models import Checkpoint, CheckpointHead
from engine.store.db import Database
from engine.store.models import File, HistoryEvent, Instance, utcnow

CHUNK = 200  # instances per chunk (one read transaction each)
MARGIN = timedelta(minutes=5)


@dataclass
class RunReport(checks.Report):
    mode: str = "full"
    since_checkpoint: int | None = None  # incremental: the mark's checkpoint
    unchanged: int = 0  # incremental: instances confirmed by their checkpointed head
    checkpoint_seq: int = 0  # the newest checkpoint when the run began
    event_id: int = 0  # the new mark's event id
    started: datetime = field(default_factory=utcnow)

    def summary(self) -> str:
        text = super().summary()
        if self.mode == "incremental":
            since = (f"checkpoint #{self.since_checkpoint}" if self.since_checkpoint
                     else "the last verification")
            return (f"{text} (incremental since {since}; {self.unchanged} unchanged "
                    "instance(s) confirmed by their checkpointed heads)")
        return f"{text} (full)"


def run(db: Database, *, keys: AuditKeys | None, definitions: Definitions | None,
        full: bool = False, workers: int = 1) -> RunReport:
    """Verify; the caller records a mark (engine/commands/audit.py) when it is intact."""
    report = RunReport()
    with checks.snapshot(db) as session:
        mark, bad_mark = (None, None) if full else latest(session, keys)
        if bad_mark:
            report.problems.append(bad_mark)
        report.checkpoint_seq = session.scalar(select(func.max(Checkpoint.seq))) or 0
        report.event_id = _settled_event_id(session, mark, report.started)
        changed: set[int] | None = None
        if mark is not None:
            report.mode, report.since_checkpoint = "incremental", mark.checkpoint_seq
            changed = _changed(session, mark)
            total = session.scalar(select(func.count()).select_from(Instance)) or 0
            report.unchanged = total - len(changed)
        ids: Iterable[list[int]] = (_chunks(sorted(changed)) if changed is not None
                                    else _all_ids(db))
        _check_instances(db, definitions, ids, report, workers)
        _check_locked(session, report, changed)
        report.checkpoints, found = checkpoints.verify(session, keys)
        report.problems.extend(checks._labelled(session, found))
        ring = signing.KeyRing(keys) if keys is not None else None
        report.signatures, found = signing.verify(session, ring, changed)
        report.problems.extend(found)
        # passkey assertions are few and cheap (a fraction of a millisecond each): all of
        # them, every run, so an altered stored assertion is never trusted from a mark
        report.passkey_approvals, found = passkeys.verify(session)
        report.problems.extend(found)
    return report


# ---------------------------------------------------------------- what to check


def _settled_event_id(session: Session, mark: Mark | None, started: datetime) -> int:
    """The newest event id at least MARGIN old (every event up to it has committed)."""
    since = mark.event_id if mark is not None else 0
    newest = session.scalar(select(func.max(HistoryEvent.id)).where(
        HistoryEvent.id > since, HistoryEvent.at <= started - MARGIN))
    return int(newest) if newest is not None else since


def _changed(session: Session, mark: Mark) -> set[int]:
    """Instances with an event after the mark, and instances whose head is not the one
    their newest checkpoint recorded (or that no checkpoint recorded)."""
    changed: set[int] = set()
    for query in _changed_queries(mark):
        changed.update(session.scalars(query))
    return changed


def _changed_queries(mark: Mark) -> tuple[Select[int], Select[int]]:
    """(instances with an event after the mark, instances whose head moved)."""
    new = select(HistoryEvent.instance_id).distinct().where(HistoryEvent.id > mark.event_id)
    newest = (select(CheckpointHead.instance_id,
                     func.max(CheckpointHead.checkpoint_id).label("cid"))
              .group_by(CheckpointHead.instance_id).subquery())
    head = CheckpointHead
    moved = (select(Instance.id)
             .outerjoin(newest, newest.c.instance_id == Instance.id)
             .outerjoin(head, and_(head.instance_id == Instance.id,
                                   head.checkpoint_id == newest.c.cid))
             .where(or_(head.id.is_(None), head.event_count != Instance.event_count,
                        head.head_hash != func.coalesce(Instance.last_event_hash, ""))))
    return new, moved


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _all_ids(db: Database) -> Iterator[list[int]]:
    """Every instance id, a chunk at a time (keyset paging, one short read each)."""
    last = 0
    while True:
        with db.reader() as s:
            page = list(s.scalars(select(Instance.id).where(Instance.id > last)
                                  .order_by(Instance.id).limit(CHUNK)))
        if not page:
            return
        last = page[-1]
        yield page


# ---------------------------------------------------------------- instances


def check_chunk(db: Database, definitions: Definitions | None, ids: list[int]
                ) -> tuple[int, int, int, list[str]]:
    """(instances, events, re-executed, problems) for these instances, in one snapshot."""
    part = checks.Report()
    reexecutor = Reexecutor(definitions) if definitions is not None else None
    with checks.snapshot(db) as session:
        rows = session.execute(
            select(Instance.id, Instance.event_count, Instance.last_event_hash,
                   Instance.subject_kind, Instance.subject_id, Instance.status,
                   Instance.definition_id)
            .where(Instance.id.in_(ids)).order_by(Instance.id)).all()
        for instance in rows:
            checks.check_instance(session, part, reexecutor, instance)
    return part.instances, part.events, part.reexecuted, part.problems


def _merge(report: RunReport, result: tuple[int, int, int, list[str]]) -> None:
    instances, events, reexecuted, problems = result
    report.instances += instances
    report.events += events
    report.reexecuted += reexecuted
    report.problems.extend(problems)


def _check_instances(db: Database, definitions: Definitions | None,
                     chunks: Iterable[list[int]], report: RunReport, workers: int) -> None:
    if workers <= 1:
        for ids in chunks:
            _merge(report, check_chunk(db, definitions, ids))
        return
    init = (db.url, None if definitions is None
            else (sorted(definitions.handler_names), definitions.max_bytes))
    # spawn: a forked child would share the parent's open database connections
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init, initargs=init) as pool:
        pending: list[Future[tuple[int, int, int, list[str]]]] = []
        for ids in chunks:
            pending.append(pool.submit(_worker_chunk, ids))
            if len(pending) >= 2 * workers:  # a few chunks in flight: memory stays flat
                _merge(report, pending.pop(0).result())
        for future in pending:
            _merge(report, future.result())


_worker: dict[str, Any] = {}


def _worker_init(url: str, definitions: tuple[list[str], int] | None) -> None:
    _worker["db"] = Database(url)
    _worker["definitions"] = (Definitions(set(definitions[0]), definitions[1])
                              if definitions is not None else None)


def _worker_chunk(ids: list[int]) -> tuple[int, int, int, list[str]]:
    return check_chunk(_worker["db"], _worker["definitions"], ids)


# ---------------------------------------------------------------- locked files


def _check_locked(session: Session, report: RunReport, changed: set[int] | None) -> None:
    """Every locked file (full), or those of the changed instances (incremental)."""
    if changed is None:
        files: Iterable[File] = checks._locked_files(session)
    else:
        files = _locked_of(session, sorted(changed))
    for file in files:
        report.locked_files += 1
        checks._check_locked_file(session, report, file)


def _locked_of(session: Session, ids: list[int]) -> Iterator[File]:
    for chunk in _chunks(ids):
        yield from session.scalars(select(File).where(File.locked.is_(True),
                                                      File.instance_id.in_(chunk))
                                   .order_by(File.id))
