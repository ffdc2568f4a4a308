"""Tamper cases against the whole audit trail (chains, checkpoints, signatures, locked
records, stored workflow state), each made with raw SQL behind the engine's back."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import JSON, bindparam, select, text
from sqlalchemy.exc import DBAPIError

from engine.audit import checkpoints, history
from engine.store.audit_models import ApprovalSignature, Checkpoint, CheckpointHead
from engine.store.models import Instance
from tests.flow import inbox_task
from tests.tamper import tamper, unguarded


def approved_file(service, users, subject="Audit"):
    rid = service.diarise(users["clerk"], {"sender": "Collectorate", "subject": subject})["id"]
    f = service.open_file(users["clerk"], subject, "11011", receipt_id=rid)
    service.add_note(users["clerk"], f["id"], "Proposal as per rules.")
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "ds", "note": "Submitted."})
    service.act(users["ds"], inbox_task(service, users["ds"], file_id=f["id"])["id"],
                {"action": "approve", "note": "Approved."})
    return service.file(users["ds"], f["id"])


def running_file(service, users, subject="Running"):
    f = service.open_file(users["clerk"], subject, "11011")
    service.act(users["clerk"], inbox_task(service, users["clerk"], file_id=f["id"])["id"],
                {"action": "forward", "to": "so"})
    return f


def problems(service):
    return service.verify_report().problems


def refused(service, statement, **params):
    """The statement must be refused by a trigger and change nothing."""
    with (
        pytest.raises(DBAPIError, match=r"read-only|append-only"),
        service.db.write_engine.begin() as conn,
    ):
        conn.execute(text(statement), params)


def test_everything_verifies_clean(service, users):
    f = approved_file(service, users)
    running_file(service, users)
    service.checkpoint()
    running_file(service, users, "After the checkpoint")
    report = service.verify_report()
    assert report.problems == []
    assert report.checkpoints == 1
    assert report.signatures >= 1
    assert report.reexecuted == report.instances >= 4
    with service.db.reader() as s:
        sig = s.scalar(select(ApprovalSignature).where(ApprovalSignature.file_id == f["id"]))
        assert sig.username == "ds"
        assert sig.action == "approve"
        kinds = [e.kind for e in history.events(s, f["instance_id"])]
    assert "approval_signed" in kinds
    assert "note_added" in kinds
    assert "correspondence_added" in kinds


# ---------------------------------------------------------------- triggers refuse


def test_history_and_audit_tables_are_append_only(service, users):
    f = approved_file(service, users)
    service.checkpoint()
    i = f["instance_id"]
    refused(service, "UPDATE history_events SET actor = 'x' WHERE instance_id = :i", i=i)
    refused(service, "DELETE FROM history_events WHERE instance_id = :i AND seq = 2", i=i)
    refused(service, "UPDATE checkpoints SET events = 0")
    refused(service, "DELETE FROM checkpoint_heads")
    refused(service, "UPDATE approval_signatures SET content_hash = 'x'")
    refused(service, "DELETE FROM approval_signatures")
    refused(service, "UPDATE user_keys SET public_pem = 'x'")
    refused(service, "DELETE FROM user_keys")
    assert problems(service) == []


def test_receipt_in_a_locked_file_is_read_only(service, users):
    f = approved_file(service, users)
    rid = f["correspondence"][0]["id"]
    refused(service, "UPDATE receipts SET subject = 'Forged' WHERE id = :r", r=rid)
    refused(service, "DELETE FROM receipts WHERE id = :r", r=rid)
    # a receipt in no locked file is still an ordinary row
    other = service.diarise(users["clerk"], {"sender": "X", "subject": "Loose"})["id"]
    with service.db.write_engine.begin() as conn:
        conn.execute(text("UPDATE receipts SET remark = 'fine' WHERE id = :r"), {"r": other})
    assert problems(service) == []


def test_locked_note_refused_then_forced_edit_detected(service, users):
    f = approved_file(service, users)
    refused(service, "UPDATE notes SET text = 'Rejected.' WHERE file_id = :f", f=f["id"])
    tamper(service, "UPDATE notes SET text = 'Rejected.' WHERE file_id = :f AND para_no = 3",
           tables=("notes",), f=f["id"])
    found = problems(service)
    assert len(found) == 2
    assert all(f"file {f['file_no']}" in p for p in found)
    assert any("differ from what instance" in p for p in found)  # the lock's content hash
    assert any("approve by ds" in p and "differ from what was signed" in p for p in found)


# ---------------------------------------------------------------- the chains


def test_edited_note_event_detected(service, users):
    f = running_file(service, users)
    service.add_note(users["so"], f["id"], "Original text")
    with service.db.reader() as s:
        event = next(e for e in history.events(s, f["instance_id"]) if e.kind == "note_added")
    tamper(service, text("UPDATE history_events SET data = :d WHERE id = :id").bindparams(
        bindparam("d", type_=JSON)), d={**event.data, "text": "Changed text"}, id=event.id)
    found = problems(service)
    assert found
    assert f"event #{event.seq} (note_added) was altered" in found[0]


def test_deleted_and_reordered_events_detected(service, users):
    a = running_file(service, users, "A")
    b = running_file(service, users, "B")
    tamper(service, "DELETE FROM history_events WHERE instance_id = :i AND seq = 3",
           i=a["instance_id"])
    with service.db.write_engine.begin() as conn, unguarded(conn, "history_events"):
        for old, new in ((2, -1), (4, 2), (-1, 4)):
            conn.execute(text("UPDATE history_events SET seq = :new "
                              "WHERE instance_id = :i AND seq = :old"),
                         {"i": b["instance_id"], "old": old, "new": new})
    found = problems(service)
    assert any(a["file_no"] in p and "event #3 missing or out of order" in p for p in found)
    assert any(b["file_no"] in p and "event #2" in p and "altered" in p for p in found)


def rewrite_chain(service, instance_id, change):
    """A consistent rewrite: every hash recomputed and the instance row updated, as an
    attacker who knows the (public) hashing scheme would."""
    with service.db.write_engine.begin() as conn, unguarded(conn, "history_events"):
        rows = conn.execute(text("SELECT id, seq, kind, at, actor, task_spec, data "
                                 "FROM history_events WHERE instance_id = :i ORDER BY seq"),
                            {"i": instance_id}).all()
        prev = history.GENESIS
        with service.db.reader() as s:
            ats = {e.id: e.at for e in history.events(s, instance_id)}
        for r in rows:
            data = r.data if isinstance(r.data, dict) else json.loads(r.data)
            data = change(r.kind, data)
            body = history.event_body(instance_id, r.seq, r.kind, ats[r.id], r.actor,
                                      r.task_spec, data)
            digest = history.event_hash(prev, body)
            conn.execute(text("UPDATE history_events SET data = :d, prev_hash = :p, hash = :h "
                              "WHERE id = :id").bindparams(bindparam("d", type_=JSON)),
                         {"d": data, "p": prev, "h": digest, "id": r.id})
            prev = digest
        conn.execute(text("UPDATE instances SET last_event_hash = :h WHERE id = :i"),
                     {"h": prev, "i": instance_id})


def test_consistently_rewritten_chain_caught_by_checkpoint(service, users):
    f = running_file(service, users)
    service.checkpoint()

    def reroute(kind, data):
        return {**data, "remark": "never said"} if kind == "task_completed" else data

    rewrite_chain(service, f["instance_id"], reroute)
    found = problems(service)
    assert len(found) == 1, found
    assert f["file_no"] in found[0]
    assert "not the one checkpoint #1 recorded" in found[0]


def test_whole_chain_deleted_after_checkpoint(service, users):
    f = running_file(service, users)
    service.checkpoint()
    tamper(service, "DELETE FROM history_events WHERE instance_id = :i", i=f["instance_id"])
    tamper(service, "UPDATE instances SET event_count = 0, last_event_hash = NULL "
           "WHERE id = :i", tables=(), i=f["instance_id"])
    found = problems(service)
    assert any(f["file_no"] in p and "checkpoint #1 recorded event" in p and "deleted" in p
               for p in found), found


def test_event_deleted_before_checkpoint_and_chain_shortened(service, users):
    """The newest events removed and the instance row wound back: a perfectly good (shorter)
    chain, which only the checkpoint still contradicts."""
    f = running_file(service, users)
    service.checkpoint()
    with service.db.reader() as s:
        events = history.events(s, f["instance_id"])
    keep = events[-3]
    tamper(service, "DELETE FROM history_events WHERE instance_id = :i AND seq > :n",
           i=f["instance_id"], n=keep.seq)
    tamper(service, "UPDATE instances SET event_count = :n, last_event_hash = :h WHERE id = :i",
           tables=(), n=keep.seq, h=keep.hash, i=f["instance_id"])
    found = problems(service)
    assert any(f["file_no"] in p and "checkpoint #1" in p for p in found), found


# ---------------------------------------------------------------- checkpoints


def test_checkpoint_forged_without_the_key(service, users):
    running_file(service, users)
    service.checkpoint()
    with service.db.reader() as s:
        cp = s.scalar(select(Checkpoint))
        heads = [[h.instance_id, h.event_count, h.head_hash] for h in
                 s.scalars(select(CheckpointHead).order_by(CheckpointHead.instance_id))]
    heads[0][2] = "e" * 64  # what an attacker wants the record to say
    root = checkpoints.heads_root(history.GENESIS, heads)
    body = checkpoints.checkpoint_body(cp.seq, cp.at, cp.instances, cp.events, root,
                                       cp.prev_hash)
    digest = checkpoints.checkpoint_hash(body)
    with service.db.write_engine.begin() as conn, \
            unguarded(conn, "checkpoints", "checkpoint_heads"):
        conn.execute(text("UPDATE checkpoint_heads SET head_hash = :h WHERE instance_id = :i "
                          "AND checkpoint_id = :c"), {"h": heads[0][2], "i": heads[0][0],
                                                      "c": cp.id})
        conn.execute(text("UPDATE checkpoints SET root = :r, hash = :h WHERE id = :c"),
                     {"r": root, "h": digest, "c": cp.id})
    found = problems(service)
    assert any("checkpoint #1: its MAC does not match" in p for p in found), found


def test_checkpoint_chain_and_heads(service, users):
    running_file(service, users, "One")
    first = service.checkpoint()
    second = service.checkpoint()  # nothing moved in between
    running_file(service, users, "Two")
    third = service.checkpoint()
    assert (first["seq"], second["seq"], third["seq"]) == (1, 2, 3)
    assert second["instances"] == 0
    assert third["instances"] == 1
    tamper(service, "DELETE FROM checkpoints WHERE seq = 2", tables=("checkpoints",))
    found = problems(service)
    assert any("checkpoint #2 missing" in p for p in found), found


# ---------------------------------------------------------------- signatures


def test_forged_signature_detected(service, users):
    f = approved_file(service, users)
    with service.db.reader() as s:
        sig = s.scalar(select(ApprovalSignature).where(ApprovalSignature.file_id == f["id"]))
    forged = bytearray(base64.b64decode(sig.signature))
    forged[0] ^= 1
    tamper(service, "UPDATE approval_signatures SET signature = :g WHERE id = :i",
           tables=("approval_signatures",), g=base64.b64encode(bytes(forged)).decode(), i=sig.id)
    found = problems(service)
    assert any(f["file_no"] in p and "signature does not verify" in p for p in found), found


def test_signature_by_an_inserted_key_detected(service, users):
    """A database-only attacker signs with a key of their own and registers it for the DS:
    the key is not the one kept for the DS in the data folder."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from engine.audit import signing

    f = approved_file(service, users)
    mine = Ed25519PrivateKey.generate()
    kid = signing.key_id_of(mine.public_key())
    with service.db.reader() as s:
        sig = s.scalar(select(ApprovalSignature).where(ApprovalSignature.file_id == f["id"]))
    message = signing.payload(file_no=f["file_no"], file_id=sig.file_id,
                              instance_id=sig.instance_id, signer="ds", key_id=kid,
                              action="approve", content_hash_=sig.content_hash,
                              signed_at=sig.signed_at)
    with service.db.write_engine.begin() as conn, unguarded(conn, "approval_signatures"):
        conn.execute(text("INSERT INTO user_keys (user_id, key_id, public_pem, created_at) "
                          "VALUES (:u, :k, :p, :t)"),
                     {"u": users["ds"].id, "k": kid,
                      "p": signing.public_pem(mine.public_key()), "t": sig.signed_at})
        conn.execute(text("UPDATE approval_signatures SET key_id = :k, signature = :g "
                          "WHERE id = :i"),
                     {"k": kid, "g": base64.b64encode(mine.sign(message)).decode(),
                      "i": sig.id})
    found = problems(service)
    assert any("is not the key kept for that user in the data folder" in p for p in found)
    assert any("not recorded in the file's history" in p for p in found), found


# ---------------------------------------------------------------- workflow state


def test_altered_workflow_state_detected(service, users):
    f = running_file(service, users)
    with service.db.reader() as s:
        state = json.loads(s.get(Instance, f["instance_id"]).state)
    so_post = users["so"].post_id
    changed = 0
    for task in state["tasks"].values():  # task data is stored whole or as deltas
        for data in (task["data"], (task.get("delta") or {}).get("updates") or {}):
            if data.get("holder_post") == so_post:
                data["holder_post"] = users["ds"].post_id
                changed += 1
    assert changed
    tamper(service, "UPDATE instances SET state = :s WHERE id = :i", tables=(),
           s=json.dumps(state), i=f["instance_id"])
    found = problems(service)
    assert len(found) == 1, found
    assert f["file_no"] in found[0]
    assert "re-executing" in found[0]
    assert "process data at noting differs" in found[0]


def test_workflow_state_moved_to_another_step_detected(service, users):
    f = running_file(service, users)
    with service.db.reader() as s:
        state = s.get(Instance, f["instance_id"]).state
    other = running_file(service, users, "Donor")
    tamper(service, "UPDATE instances SET state = :s WHERE id = :i", tables=(),
           s=state, i=other["instance_id"])  # a copy of another file's blob
    service.act(users["so"], inbox_task(service, users["so"], file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    tamper(service, "UPDATE instances SET state = NULL, status = 'completed' WHERE id = :i",
           tables=(), i=f["instance_id"])
    found = problems(service)
    assert any(other["file_no"] in p and "re-executing" in p for p in found), found
    assert any(f["file_no"] in p and "stored as finished" in p for p in found), found
