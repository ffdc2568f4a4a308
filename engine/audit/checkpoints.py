"""Checkpoints over every history chain.

Each checkpoint records the head (event count, last hash) of every instance whose chain
moved since the previous checkpoint, in `checkpoint_heads`, and chains:

    root_k = SHA-256(root_{k-1} + canonical JSON of its heads [[instance, count, hash], ...])
    hash_k = SHA-256(hash_{k-1} + canonical JSON of {seq, at, instances, events, root, prev_hash})
    mac_k  = HMAC-SHA-256(key derived from the data folder's master key, hash_k)

`verify` recomputes all of it and checks that every recorded head is still in its chain:
an event deleted before a checkpoint, or a whole chain rewritten or removed, no longer
matches. The HMAC means that rewriting the checkpoints too needs the key file, which a
database-only attacker does not have.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from engine.audit.history import GENESIS, canonical_json
from engine.audit.keys import AuditKeys
from engine.domain.files import _iso
from engine.store.audit_models import Checkpoint, CheckpointHead
from engine.store.db import get_or_404
from engine.store.models import HistoryEvent, Instance, utcnow

MAC_PURPOSE = "checkpoint-mac"


def heads_root(prev_root: str, heads: list[list[Any]]) -> str:
    return hashlib.sha256((prev_root + canonical_json(heads)).encode()).hexdigest()


def checkpoint_body(seq: int, at: Any, instances: int, events: int, root: str,
                    prev_hash: str) -> dict[str, Any]:
    return {"seq": seq, "at": at if isinstance(at, str) else _iso(at), "instances": instances,
            "events": events, "root": root, "prev_hash": prev_hash}


def checkpoint_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256((body["prev_hash"] + canonical_json(body)).encode()).hexdigest()


def mac(keys: AuditKeys, digest: str, create: bool = True) -> str:
    return hmac.new(keys.derive(MAC_PURPOSE, create), digest.encode(), hashlib.sha256).hexdigest()


def create(session: Session, keys: AuditKeys) -> Checkpoint:
    """A new checkpoint in the caller's transaction. Two creators racing both read the
    same last checkpoint; the unique `seq` lets only one of them commit.

    The moved heads are gathered by the database into a temporary table and copied from
    there: at a million files a first checkpoint records two million heads, which as
    Python tuples took 1.1 GB, and a later one joined every history event to find the
    few heads that moved (bench/README.md, verify at 1,000,000 files)."""
    last = session.scalar(select(Checkpoint).order_by(Checkpoint.seq.desc()).limit(1))
    for statement in MOVED_HEADS:
        session.execute(text(statement))
    count = int(session.scalar(text("SELECT count(*) FROM cp_moved_heads")) or 0)
    events = session.scalar(select(func.coalesce(func.sum(Instance.event_count), 0)))
    prev_root = last.root if last else GENESIS
    prev_hash = last.hash if last else GENESIS
    seq = (last.seq if last else 0) + 1
    at = utcnow()
    root = _moved_root(session, prev_root)
    body = checkpoint_body(seq, at, count, int(events or 0), root, prev_hash)
    digest = checkpoint_hash(body)
    checkpoint = Checkpoint(seq=seq, at=at, instances=count, events=int(events or 0),
                            root=root, prev_hash=prev_hash, hash=digest, mac=mac(keys, digest))
    session.add(checkpoint)
    session.flush()
    session.execute(text(
        "INSERT INTO checkpoint_heads (checkpoint_id, instance_id, event_count, head_hash) "
        "SELECT :checkpoint, instance_id, event_count, head_hash FROM cp_moved_heads "
        "ORDER BY instance_id"), {"checkpoint": checkpoint.id})
    session.execute(text("DELETE FROM cp_moved_heads"))
    return checkpoint


# The heads that moved since the last checkpoint, gathered by the database: first the
# instances whose event count differs from the newest one recorded (or none recorded),
# then each one's newest event by the (instance, seq) index, never a walk of all events.
# An instance whose newest event is missing is left out, as a join would leave it; verify
# reports it. The table lives for the connection and is emptied after each use.
MOVED_HEADS = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS cp_moved_heads (instance_id INTEGER PRIMARY KEY, "
    "event_count INTEGER NOT NULL, head_hash VARCHAR(64))",
    "DELETE FROM cp_moved_heads",
    "INSERT INTO cp_moved_heads (instance_id, event_count) "
    "SELECT i.id, i.event_count FROM instances i LEFT JOIN (SELECT instance_id, "
    "max(event_count) AS n FROM checkpoint_heads GROUP BY instance_id) r "
    "ON r.instance_id = i.id WHERE i.event_count > 0 AND (r.n IS NULL OR r.n <> i.event_count)",
    "UPDATE cp_moved_heads SET head_hash = (SELECT e.hash FROM history_events e "
    "WHERE e.instance_id = cp_moved_heads.instance_id AND e.seq = cp_moved_heads.event_count)",
    "DELETE FROM cp_moved_heads WHERE head_hash IS NULL",
)


def _moved_root(session: Session, prev_root: str, page: int = 10000) -> str:
    """`heads_root` of the gathered heads, read a page at a time (the same bytes)."""
    digest = hashlib.sha256(prev_root.encode())
    digest.update(b"[")
    rows = session.execute(text(
        "SELECT instance_id, event_count, head_hash FROM cp_moved_heads "
        "ORDER BY instance_id").execution_options(yield_per=page))
    for k, (instance_id, count, head) in enumerate(rows):
        if k:
            digest.update(b",")
        digest.update(canonical_json([instance_id, count, head]).encode())
    digest.update(b"]")
    return digest.hexdigest()


def _heads(session: Session, checkpoint_id: int) -> list[list[Any]]:
    return [[r.instance_id, r.event_count, r.head_hash] for r in session.execute(
        select(CheckpointHead.instance_id, CheckpointHead.event_count, CheckpointHead.head_hash)
        .where(CheckpointHead.checkpoint_id == checkpoint_id)
        .order_by(CheckpointHead.instance_id))]


def streamed_root(session: Session, prev_root: str, checkpoint_id: int,
                  page: int = 10000) -> tuple[str, int]:
    """(`heads_root` of the checkpoint's heads, how many), the heads read a page at a time:
    a first checkpoint of a large installation records every instance, more than is worth
    holding in memory. The bytes hashed are exactly those of `heads_root`. PostgreSQL
    hashes them itself (`_server_root`): a fifth of the time, and nothing crosses the
    connection but the digest."""
    if session.get_bind().dialect.name == "postgresql":
        found = _server_root(session, prev_root, checkpoint_id)
        if found is not None:
            return found
    digest = hashlib.sha256(prev_root.encode())
    digest.update(b"[")
    count = 0
    rows = session.execute(
        select(CheckpointHead.instance_id, CheckpointHead.event_count, CheckpointHead.head_hash)
        .where(CheckpointHead.checkpoint_id == checkpoint_id)
        .order_by(CheckpointHead.instance_id).execution_options(yield_per=page))
    for r in rows:
        if count:
            digest.update(b",")
        digest.update(canonical_json([r.instance_id, r.event_count, r.head_hash]).encode())
        count += 1
    digest.update(b"]")
    return digest.hexdigest(), count


# canonical_json of [[instance_id, event_count, head_hash], ...] in instance order, after
# the previous root: integers and hex digests need no escaping (a head that is not hex is
# hashed by Python, which escapes as canonical_json does)
SERVER_ROOT = text(
    "SELECT encode(sha256(convert_to(:prev || '[' || coalesce(string_agg("
    "'[' || instance_id || ',' || event_count || ',\"' || head_hash || '\"]', ',' "
    "ORDER BY instance_id), '') || ']', 'UTF8')), 'hex'), count(*), "
    "coalesce(bool_and(head_hash ~ '^[0-9a-f]*$'), true) "
    "FROM checkpoint_heads WHERE checkpoint_id = :checkpoint")


def _server_root(session: Session, prev_root: str, checkpoint_id: int
                 ) -> tuple[str, int] | None:
    root, count, hex_only = session.execute(SERVER_ROOT, {"prev": prev_root,
                                                          "checkpoint": checkpoint_id}).one()
    return (root, int(count)) if hex_only else None


def verify(session: Session, keys: AuditKeys | None) -> tuple[int, list[str]]:
    """(checkpoints checked, problems). Without `keys` the HMACs are not checked."""
    problems: list[str] = []
    prev_root = prev_hash = GENESIS
    count = 0
    mac_keys = keys if keys is not None and keys.exists() else None
    for expected, cp in enumerate(session.scalars(select(Checkpoint).order_by(Checkpoint.seq)),
                                  start=1):
        count += 1
        name = f"checkpoint #{cp.seq}"
        if cp.seq != expected:
            problems.append(f"checkpoint #{expected} missing or out of order "
                            f"(found #{cp.seq} in its place)")
        if cp.prev_hash != prev_hash:
            problems.append(f"{name}: does not follow the checkpoint before it")
        root, recorded = streamed_root(session, prev_root, cp.id)
        body = checkpoint_body(cp.seq, cp.at, cp.instances, cp.events, cp.root, cp.prev_hash)
        if root != cp.root or recorded != cp.instances:
            problems.append(f"{name}: its recorded chain heads were altered")
        elif checkpoint_hash(body) != cp.hash:
            problems.append(f"{name}: altered (its hash does not match its contents)")
        elif mac_keys is not None and not hmac.compare_digest(
                mac(mac_keys, cp.hash, create=False), cp.mac):
            problems.append(f"{name}: its MAC does not match: written without the audit key")
        prev_root, prev_hash = cp.root, cp.hash
    if count and keys is not None and mac_keys is None:
        problems.append(f"checkpoints: cannot check their MACs, no audit key at "
                        f"{keys.master_path}")
    # Every recorded head must still be an event of its chain, with the same hash.
    ev = HistoryEvent
    broken = session.execute(
        select(Checkpoint.seq, CheckpointHead.instance_id, CheckpointHead.event_count,
               CheckpointHead.head_hash, ev.hash, Instance.id.label("alive"))
        .join(Checkpoint, Checkpoint.id == CheckpointHead.checkpoint_id)
        .outerjoin(ev, and_(ev.instance_id == CheckpointHead.instance_id,
                            ev.seq == CheckpointHead.event_count))
        .outerjoin(Instance, Instance.id == CheckpointHead.instance_id)
        .where(or_(ev.hash.is_(None), ev.hash != CheckpointHead.head_hash))
        .order_by(CheckpointHead.instance_id, Checkpoint.seq))
    seen: set[int] = set()
    for r in broken:
        if r.instance_id in seen:
            continue  # the first broken checkpoint of an instance says enough
        seen.add(r.instance_id)
        where = f"instance {r.instance_id}"
        if r.alive is None:
            problems.append(f"{where}: checkpoint #{r.seq} recorded {r.event_count} events; "
                            "the instance no longer exists")
        elif r.hash is None:
            problems.append(f"{where}: checkpoint #{r.seq} recorded event #{r.event_count}; "
                            "it is no longer in the history (deleted)")
        else:
            problems.append(f"{where}: event #{r.event_count} is not the one checkpoint "
                            f"#{r.seq} recorded (the chain was rewritten)")
    return count, problems


def proof(session: Session, instance_id: int) -> dict[str, Any] | None:
    """What an outside auditor needs to tie this instance's chain to a checkpoint hash:
    the checkpoint, the previous root and the heads it recorded."""
    head = session.scalar(select(CheckpointHead).where(CheckpointHead.instance_id == instance_id)
                          .order_by(CheckpointHead.checkpoint_id.desc()).limit(1))
    if head is None:
        return None
    cp = get_or_404(session, Checkpoint, head.checkpoint_id)
    before = session.scalar(select(Checkpoint.root).where(Checkpoint.seq == cp.seq - 1))
    return {
        "checkpoint": checkpoint_body(cp.seq, cp.at, cp.instances, cp.events, cp.root,
                                      cp.prev_hash) | {"hash": cp.hash},
        "prev_root": before or GENESIS,
        "heads": _heads(session, cp.id),
        "instance_head": [head.instance_id, head.event_count, head.head_hash],
    }


def check_proof(proof_: dict[str, Any], chain: list[dict[str, Any]]) -> list[str]:
    """Offline check of `proof` against an exported chain (no database needed)."""
    problems = []
    cp = proof_["checkpoint"]
    name = f"checkpoint #{cp.get('seq')}"
    if heads_root(proof_["prev_root"], proof_["heads"]) != cp["root"]:
        problems.append(f"{name}: the heads do not give its root")
    body = {k: cp[k] for k in ("seq", "at", "instances", "events", "root", "prev_hash")}
    if checkpoint_hash(body) != cp["hash"]:
        problems.append(f"{name}: its hash does not match its contents")
    head = proof_["instance_head"]
    if head not in proof_["heads"]:
        problems.append(f"{name}: does not record this file's chain")
    event = next((e for e in chain if e.get("seq") == head[1]), None)
    if event is None or event.get("hash") != head[2]:
        problems.append(f"{name}: recorded event #{head[1]} with hash {head[2][:12]}…, "
                        "which is not in the exported chain")
    return problems
