"""Signatures and exports across drafts and an approved reopening: a reopened file's new
notes are not tampering, but a changed draft of an approved file is."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine.audit.export import check
from engine.domain.files import content, get_file
from engine.store.audit_models import ApprovalSignature
from tests.flow import inbox_task
from tests.tamper import tamper


def test_reopened_file_verifies_and_exports_clean(service, users, tmp_path):
    clerk, ds = users["clerk"], users["ds"]
    f = service.open_file(clerk, "Reopened", "11011")
    draft = service.create_draft(clerk, f["id"], "Reply to the Collector", "Draft text v1")
    service.edit_draft(clerk, draft["id"], "Draft text v2")
    service.add_note(clerk, f["id"], "Put up with a draft reply.")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"], {"action": "approve"})
    with service.db.reader() as s:
        held = content(s, get_file(s, f["id"]))
    assert [d["text"] for d in held["drafts"]] == ["Draft text v1", "Draft text v2"]
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "close", "record_category": "B"})
    service.checkpoint()
    service.request_reopen(clerk, f["id"], "Court order received")
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"], {"action": "approve"})
    service.add_note(clerk, f["id"], "Reopened on the court's order.")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"], {"action": "approve"})
    with service.db.reader() as s:
        actions = [r.action for r in s.scalars(select(ApprovalSignature).where(
            ApprovalSignature.file_id == f["id"]).order_by(ApprovalSignature.id))]
    assert actions == ["approve", "approve:file_reopen", "approve"]
    assert service.verify_report().problems == []
    _, data = service.export_file(users["auditor"], f["id"])
    path = tmp_path / "reopened.zip"
    path.write_bytes(data)
    assert check(path)[1] == []


def test_changed_draft_of_an_approved_file(service, users):
    clerk, ds = users["clerk"], users["ds"]
    f = service.open_file(clerk, "Draft", "11011")
    service.create_draft(clerk, f["id"], "Reply", "As approved")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"], {"action": "approve"})
    with (
        pytest.raises(DBAPIError, match=r"never changed|read-only"),
        service.db.write_engine.begin() as conn,
    ):
        conn.execute(text("UPDATE draft_versions SET text = 'Not as approved' "
                          "WHERE file_id = :f"), {"f": f["id"]})
    tamper(service, "UPDATE draft_versions SET text = 'Not as approved' WHERE file_id = :f",
           tables=("draft_versions",), f=f["id"])
    found = service.verify_report().problems
    assert any(f["file_no"] in p and "differ from what was signed" in p for p in found), found
    assert any(f["file_no"] in p and "differ from what instance" in p for p in found), found
