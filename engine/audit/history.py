"""Append-only, hash-chained history of every instance."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from json.encoder import encode_basestring as _encode_text
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from engine.store.models import HistoryEvent, Instance, utcnow

GENESIS = "0" * 64
# session.info key of the running command (engine/commands/executor.py CONTEXT_KEY)
COMMAND_CONTEXT = "command_context"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(body)).encode()).hexdigest()


def event_body(instance_id: int, seq: int, kind: str, at: datetime, actor: str | None,
               task_spec: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "instance_id": instance_id, "seq": seq, "kind": kind, "at": at.isoformat(),
        "actor": actor, "task_spec": task_spec, "data": data,
    }


def _body_json(instance_id: int, seq: int, kind: str, at: datetime, actor: str | None,
               task_spec: str | None, data_json: str) -> str:
    """canonical_json(event_body(...)) with the data already in canonical JSON: the same
    text (keys in sorted order: actor, at, data, instance_id, kind, seq, task_spec) without
    encoding the data a second time."""
    dump = _scalar_json
    return (f'{{"actor":{dump(actor)},"at":{dump(at.isoformat())},"data":{data_json},'
            f'"instance_id":{dump(instance_id)},"kind":{dump(kind)},"seq":{dump(seq)},'
            f'"task_spec":{dump(task_spec)}}}')


def _scalar_json(value: Any) -> str:
    """json.dumps(value, ensure_ascii=False) for one value; None, text and integers (every
    field of an event but its data) without going through the encoder object."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _encode_text(value)  # the escaper json.dumps(ensure_ascii=False) calls
    if kind is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


def append(session: Session, instance: Instance, kind: str, *, actor: str | None = None,
           task_spec: str | None = None, data: dict[str, Any] | None = None) -> None:
    """Append one event in the caller's transaction, chained to the instance's last one.
    Inside a command the row is queued and written with the command's other events in one
    batched insert after the instance's versioned UPDATE (engine/commands/executor.py)."""
    if instance.id is None:
        session.flush()
    seq = (instance.event_count or 0) + 1
    prev = instance.last_event_hash or GENESIS
    at = utcnow()
    data_json = canonical_json(data or {})
    digest = hashlib.sha256((prev + _body_json(instance.id, seq, kind, at, actor, task_spec,
                                                data_json)).encode()).hexdigest()
    row = {"instance_id": instance.id, "seq": seq, "kind": kind, "at": at, "actor": actor,
           "task_spec": task_spec, "data": data_json, "prev_hash": prev, "hash": digest}
    ctx = session.info.get(COMMAND_CONTEXT)
    if ctx is not None:
        # stored as the canonical text the hash was taken over (the batched insert sends
        # it as it is): what is read back is exactly what was hashed
        ctx.add_history(row)
    else:
        row["data"] = json.loads(data_json)
        session.add(HistoryEvent(**row))
    instance.event_count = seq
    instance.last_event_hash = digest


def write_pending(session: Session) -> None:
    """Queued events reach the database now (a read inside the command needs them)."""
    ctx = session.info.get(COMMAND_CONTEXT)
    if ctx is not None:
        ctx.write_pending()


def events(session: Session, instance_id: int) -> list[HistoryEvent]:
    write_pending(session)
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
        .order_by(HistoryEvent.seq)))


def events_of(session: Session, instance_ids: list[int] | Select, limit: int | None = None,
              offset: int = 0) -> list[HistoryEvent]:
    """The events of several instances, instance by instance and each in order; a page of
    them when `limit` is given (one query, read through the (instance_id, seq) index).
    `instance_ids`: a list, or a subquery of them."""
    if isinstance(instance_ids, list) and not instance_ids:
        return []
    write_pending(session)
    return list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id.in_(instance_ids))
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq).offset(offset).limit(limit)))


def verify_chain(rows: list[HistoryEvent]) -> str | None:
    """None when intact, else a description of the first broken event."""
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return f"instance {row.instance_id}: event #{expected_seq} missing or out of order"
        body = event_body(row.instance_id, row.seq, row.kind, row.at, row.actor, row.task_spec,
                          row.data)
        if row.prev_hash != prev or event_hash(prev, body) != row.hash:
            return f"instance {row.instance_id}: event #{row.seq} ({row.kind}) was altered"
        prev = row.hash
    return None
