"""Verification marks: how far the last intact `sanchika verify` reached.

A mark records the newest checkpoint whose heads were confirmed and the history event id
up to which every event was re-hashed. The next incremental run starts from there. The
mark is HMAC'd under the data folder's audit key (as checkpoints are), so someone who can
write the database but not read the key cannot forge a mark that hides an instance from
the next run: a mark that does not verify is reported and the run falls back to --full.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.history import canonical_json
from engine.audit.keys import AuditKeys
from engine.domain.files import _iso
from engine.store.audit_models import VerifyMark

MAC_PURPOSE = "verify-mark"


@dataclass(frozen=True)
class Mark:
    seq: int  # the row id, for messages
    at: datetime
    mode: str
    checkpoint_seq: int
    event_id: int


def _digest(keys: AuditKeys, at: datetime, mode: str, checkpoint_seq: int, event_id: int,
            instances: int, create: bool) -> str:
    body = canonical_json({"at": _iso(at), "mode": mode, "checkpoint_seq": checkpoint_seq,
                           "event_id": event_id, "instances": instances})
    return hmac.new(keys.derive(MAC_PURPOSE, create), body.encode(), hashlib.sha256).hexdigest()


def record(session: Session, keys: AuditKeys, *, at: datetime, mode: str, checkpoint_seq: int,
           event_id: int, instances: int) -> VerifyMark:
    """A new mark in the caller's transaction (a command)."""
    mark = VerifyMark(at=at, mode=mode, checkpoint_seq=checkpoint_seq, event_id=event_id,
                      instances=instances,
                      mac=_digest(keys, at, mode, checkpoint_seq, event_id, instances, True))
    session.add(mark)
    session.flush()
    return mark


def latest(session: Session, keys: AuditKeys | None) -> tuple[Mark | None, str | None]:
    """(the newest mark that verifies, a problem when the newest one does not). Without
    a key nothing can be trusted: no mark, so the run is a full one."""
    row = session.scalar(select(VerifyMark).order_by(VerifyMark.id.desc()).limit(1))
    if row is None or keys is None or not keys.exists():
        return None, None
    expected = _digest(keys, row.at, row.mode, row.checkpoint_seq, row.event_id,
                       row.instances, False)
    if not hmac.compare_digest(expected, row.mac):
        return None, (f"verification mark #{row.id}: its MAC does not match (written without "
                      "the audit key); everything was re-checked")
    return Mark(row.id, row.at, row.mode, row.checkpoint_seq, row.event_id), None
