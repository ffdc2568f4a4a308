"""Tamper detection (`sanchika verify`): every instance's history chain, and every locked
file's content against the hash recorded, inside that chain, when it was locked.

What is checked:
- each instance's events form an unbroken chain from seq 1 (`history.verify_chain`:
  edited, deleted or reordered events);
- the instance row's `event_count` and `last_event_hash` match its newest event, so
  deleting the newest events is caught too;
- every `lock_file` event still points at a file that exists and is locked;
- every locked file has a `lock_file` event in its instance, and its notes and
  correspondence (`files.content_hash`) are what that event recorded.

- the checkpoints (engine/audit/checkpoints.py): their chain, their HMAC under the data
  folder's audit key, and that every chain head they recorded is still in its chain — so
  a whole chain rewritten or removed consistently is caught too;
- every signed approval (engine/audit/signing.py) against its public key and the file's
  content now; those signed by the server-held key are counted as the fallback they are;
- every approval signed with a passkey (engine/audit/passkeys.py): its WebAuthn assertion
  against the recomputed challenge and the stored public key, the passkey's registration
  and revocation, the content approved and the history record;
- with `definitions`, every instance re-executed from its deployed BPMN version with its
  recorded inputs (engine/bpm/reexecute.py) and compared with the stored workflow state.

Limit: events appended after the newest checkpoint are protected only by the plain
SHA-256 chain; see README ("Audit") for the threat model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import checkpoints, history, passkeys, signing
from engine.audit.keys import AuditKeys
from engine.bpm.definitions import Definitions
from engine.bpm.reexecute import Reexecutor
from engine.domain.files import content_hash
from engine.store.db import Database, get_or_404
from engine.store.models import File, HistoryEvent, Instance, ProcessDefinition, Receipt

BATCH = 500
LOCK_HANDLER = "lock_file"
REOPEN_HANDLER = "reopen_file"
REOPEN_PROCESS = "file_reopen"


@dataclass
class Report:
    instances: int = 0
    events: int = 0
    locked_files: int = 0
    checkpoints: int = 0
    signatures: int = 0  # by the server-held key: the fallback to passkeys
    passkey_approvals: int = 0
    reexecuted: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.instances} instances, {self.events} events, {self.locked_files} "
                f"locked files, {self.checkpoints} checkpoints, {self.passkey_approvals} passkey "
                f"approvals, {self.signatures} server-key signatures (fallback), "
                f"{self.reexecuted} re-executed")

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_all(session: Session) -> list[str]:
    """Every problem found (empty when intact). Run it inside one snapshot on a live
    database (see `verify_database`), or a concurrent action may look like tampering."""
    return verify(session).problems


def verify_database(db: Database, *, keys: AuditKeys | None = None,
                    definitions: Definitions | None = None) -> Report:
    """`verify` in one read-only snapshot: REPEATABLE READ on PostgreSQL; on SQLite (WAL)
    a read transaction already sees one snapshot."""
    with snapshot(db) as session:
        return verify(session, keys=keys, definitions=definitions)


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read-only session on one snapshot: REPEATABLE READ on PostgreSQL; on SQLite (WAL)
    a read transaction already sees one snapshot."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
    # one transaction, so one snapshot, on SQLite too
    with Session(engine) as session, session.begin():
        yield session


def verify(session: Session, *, keys: AuditKeys | None = None,
           definitions: Definitions | None = None) -> Report:
    """Without `keys` checkpoint MACs and signing-key files are not checked; without
    `definitions` instances are not re-executed."""
    report = Report()
    reexecutor = Reexecutor(definitions) if definitions is not None else None
    for instance in _instances(session):
        check_instance(session, report, reexecutor, instance)
    for file in _locked_files(session):
        report.locked_files += 1
        _check_locked_file(session, report, file)
    report.checkpoints, found = checkpoints.verify(session, keys)
    report.problems.extend(_labelled(session, found))
    ring = signing.KeyRing(keys) if keys is not None else None
    report.signatures, found = signing.verify(session, ring)
    report.problems.extend(found)
    report.passkey_approvals, found = passkeys.verify(session)
    report.problems.extend(found)
    return report


def verify_file(session: Session, file: File, *, keys: AuditKeys | None = None,
                definitions: Definitions | None = None) -> Report:
    """The checks of `verify` that concern one file: the chain of every process it went
    through (its approval and any reopenings), its lock against its content, its signed
    approvals, and (with `definitions`) the re-execution of its processes. The
    checkpoints cover the whole installation and are checked only by `verify`."""
    report = Report()
    reexecutor = Reexecutor(definitions) if definitions is not None else None
    instances = session.execute(
        select(Instance.id, Instance.event_count, Instance.last_event_hash,
               Instance.subject_kind, Instance.subject_id, Instance.status,
               Instance.definition_id)
        .where(Instance.subject_kind == "file", Instance.subject_id == file.id)
        .order_by(Instance.id)).all()
    for instance in instances:
        check_instance(session, report, reexecutor, instance)
    if file.locked:
        report.locked_files += 1
        _check_locked_file(session, report, file)
    ring = signing.KeyRing(keys) if keys is not None else None
    report.signatures, found = signing.verify(session, ring, file_id=file.id)
    report.problems.extend(found)
    report.passkey_approvals, found = passkeys.verify(session, file_id=file.id)
    report.problems.extend(found)
    return report


def check_instance(session: Session, report: Report, reexecutor: Reexecutor | None,
                   instance: Any) -> None:
    """One instance: its chain, its lock events' targets and (with a re-executor) the
    re-execution of its process. Shared by the full, per-file and incremental checks."""
    report.instances += 1
    rows = _events(session, instance.id)
    report.events += len(rows)
    _check_chain(session, report, instance, rows)
    for row in rows:
        if row.kind == "handler_called" and _handler(row) == LOCK_HANDLER:
            _check_lock_target(session, report, row)
    if reexecutor is not None:
        report.reexecuted += 1
        _check_reexecution(session, report, reexecutor, instance, rows)


def _labelled(session: Session, problems: list[str]) -> list[str]:
    """"instance 7: ..." becomes "instance 7 (file GAD/EST/...): ..." when it still exists."""
    out = []
    for problem in problems:
        head, sep, rest = problem.partition(": ")
        if head.startswith("instance ") and head[9:].isdigit():
            row = session.execute(select(Instance.id, Instance.subject_kind, Instance.subject_id)
                                  .where(Instance.id == int(head[9:]))).one_or_none()
            if row is not None:
                problem = f"{_label(session, row)}{sep}{rest}"
        out.append(problem)
    return out


def _check_reexecution(session: Session, report: Report, reexecutor: Reexecutor,
                       instance: Any, rows: list[Any]) -> None:
    definition = get_or_404(session, ProcessDefinition, instance.definition_id)
    state = session.scalar(select(Instance.state).where(Instance.id == instance.id))
    differences = reexecutor.check(
        definition, rows, instance.status, state,
        lookup=lambda i: get_or_404(session, ProcessDefinition, i, "process definition"))
    if differences:
        label = _label(session, instance)
        report.problems.append(f"{label}: re-executing its process (version "
                               f"{definition.version}) with the recorded inputs does not give "
                               f"the stored state: {'; '.join(differences)}")


# ---------------------------------------------------------------- instances


def _instances(session: Session) -> Iterator[Any]:
    """Instance rows in id order, a page at a time (plain rows: nothing piles up in the
    session however many instances there are)."""
    last = 0
    while True:
        page = session.execute(
            select(Instance.id, Instance.event_count, Instance.last_event_hash,
                   Instance.subject_kind, Instance.subject_id, Instance.status,
                   Instance.definition_id)
            .where(Instance.id > last).order_by(Instance.id).limit(BATCH)).all()
        if not page:
            return
        yield from page
        last = page[-1].id


def _events(session: Session, instance_id: int) -> list[Any]:
    return list(session.execute(
        select(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.kind, HistoryEvent.at,
               HistoryEvent.actor, HistoryEvent.task_spec, HistoryEvent.data,
               HistoryEvent.prev_hash, HistoryEvent.hash)
        .where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq)))


def _label(session: Session, instance: Any) -> str:
    """"instance 7 (file GAD/EST/1/2025/3)": what a reader can look up."""
    name = f"instance {instance.id}"
    if instance.subject_kind == "file" and instance.subject_id is not None:
        file_no = session.scalar(select(File.file_no).where(File.id == instance.subject_id))
        return f"{name} (file {file_no or f'id {instance.subject_id}, missing'})"
    if instance.subject_kind == "receipt" and instance.subject_id is not None:
        diary_no = session.scalar(select(Receipt.diary_no)
                                  .where(Receipt.id == instance.subject_id))
        return f"{name} (receipt {diary_no or f'id {instance.subject_id}, missing'})"
    return name


def _check_chain(session: Session, report: Report, instance: Any, rows: list[Any]) -> None:
    problems = []
    broken = history.verify_chain(rows)
    if broken is not None:
        prefix = f"instance {instance.id}: "
        detail = broken[len(prefix):] if broken.startswith(prefix) else broken
        if "missing or out of order" in detail:
            found = next(r for i, r in enumerate(rows, start=1) if r.seq != i)
            detail += f" (found event #{found.seq} ({found.kind}) in its place)"
        problems.append(detail)
    count = instance.event_count or 0
    last_seq = rows[-1].seq if rows else 0
    last_hash = rows[-1].hash if rows else None
    if count != last_seq:
        if count > last_seq:
            what = (f"event #{last_seq + 1} missing: the instance records {count} events, "
                    f"its history ends at #{last_seq}")
        else:
            extra = next(r for r in rows if r.seq > count)
            what = (f"event #{extra.seq} ({extra.kind}) not counted: the instance "
                    f"records {count} events, its history goes to #{last_seq}")
        problems.append(what)
    elif (instance.last_event_hash or None) != last_hash:
        where = f"event #{last_seq} ({rows[-1].kind})" if rows else "its history"
        problems.append(f"{where} does not match the instance's last event hash")
    if problems:
        label = _label(session, instance)  # only looked up when there is something to say
        report.problems.extend(f"{label}: {p}" for p in problems)


def _handler(row: Any) -> str | None:
    data = row.data if isinstance(row.data, dict) else {}
    return data.get("handler")


def _result(row: Any) -> dict[str, Any]:
    data = row.data if isinstance(row.data, dict) else {}
    result = data.get("result")
    return result if isinstance(result, dict) else {}


def _check_lock_target(session: Session, report: Report, row: Any) -> None:
    """A file the history says was locked must still exist and still be locked."""
    file_no = _result(row).get("file_no")
    if not file_no:
        return  # an altered event; the chain check has reported it
    locked = session.execute(select(File.id, File.locked).where(File.file_no == file_no)
                             ).one_or_none()
    if locked is None:
        report.problems.append(f"file {file_no}: locked at instance {row.instance_id} "
                               f"event #{row.seq} "
                               f"({row.kind}) but no longer exists")
    elif not locked.locked and not _reopened_since(session, locked.id, row):
        report.problems.append(f"file {file_no}: locked at instance {row.instance_id} "
                               f"event #{row.seq} "
                               f"({row.kind}) but is no longer locked")


def _reopened_since(session: Session, file_id: int, lock_row: Any) -> bool:
    """An approved reopening (a chained reopen_file event after the lock) unlocks a file."""
    rows = session.execute(
        select(HistoryEvent.at, HistoryEvent.data).join(
            Instance, Instance.id == HistoryEvent.instance_id)
        .where(Instance.subject_kind == "file", Instance.subject_id == file_id,
               Instance.process_id == REOPEN_PROCESS, HistoryEvent.kind == "handler_called"))
    return any(_handler(r) == REOPEN_HANDLER and _result(r).get("reopened") is True
               and r.at >= lock_row.at for r in rows)


# ---------------------------------------------------------------- locked files


def _locked_files(session: Session) -> Iterator[File]:
    last = 0
    while True:
        page = list(session.scalars(select(File).where(File.locked.is_(True), File.id > last)
                                    .order_by(File.id).limit(BATCH)))
        if not page:
            return
        last = page[-1].id
        yield from page  # the identity map holds them weakly: nothing piles up


def _check_locked_file(session: Session, report: Report, file: File) -> None:
    name = f"file {file.file_no}"
    lock_event = None
    if file.instance_id is not None:
        rows = session.execute(
            select(HistoryEvent.seq, HistoryEvent.kind, HistoryEvent.data)
            .where(HistoryEvent.instance_id == file.instance_id,
                   HistoryEvent.kind == "handler_called")
            .order_by(HistoryEvent.seq))
        lock_event = next((r for r in rows if _handler(r) == LOCK_HANDLER), None)
    if lock_event is None:
        report.problems.append(f"{name}: locked, but instance {file.instance_id} has no "
                               f"{LOCK_HANDLER} event")
        return
    where = f"instance {file.instance_id} event #{lock_event.seq} ({lock_event.kind})"
    result = _result(lock_event)
    if result.get("file_no") != file.file_no:
        report.problems.append(f"{name}: {where} locked file {result.get('file_no')}, "
                               "not this one")
        return
    recorded = result.get("content_hash")
    if not recorded:
        report.problems.append(f"{name}: {where} records no content hash; its notes and "
                               "correspondence cannot be verified")
        return
    if content_hash(session, file) != recorded:
        report.problems.append(f"{name}: its subject, notes or correspondence differ from what "
                               f"{where} recorded when the file was locked")
