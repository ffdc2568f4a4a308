"""The parts of a file's view that come with working on files in depth: yellow notes
(the reader's own), drafts with their latest version, dispatches, links, part files,
scanned note sheets, park and digitising state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine.domain import yellow_notes
from engine.store.models import (
    Dispatch,
    Document,
    Draft,
    DraftVersion,
    File,
    FileDocument,
    FileLink,
    HistoryEvent,
    Instance,
    User,
    YellowNote,
)


def document_link(sha256: str | None) -> str | None:
    return f"/api/v1/documents/{sha256}" if sha256 else None


def draft_row(session: Session, draft: Draft, names: Any) -> dict[str, Any]:
    from engine.read.views import iso
    latest = session.scalar(select(DraftVersion).where(
        DraftVersion.draft_id == draft.id, DraftVersion.version == draft.version))
    return {
        "id": draft.id, "file_id": draft.file_id, "subject": draft.subject,
        "addressee": draft.addressee, "status": draft.status, "version": draft.version,
        "text": latest.text if latest else None,
        "edited_by": names.user(latest.author_id) if latest else None,
        "edited_at": iso(latest.created_at) if latest else None,
        "created_by": names.user(draft.created_by), "created_at": iso(draft.created_at),
        "approved_by": names.user(draft.approved_by), "approved_at": iso(draft.approved_at),
    }


def dispatch_row(d: Dispatch, names: Any) -> dict[str, Any]:
    from engine.read.views import iso
    return {"id": d.id, "dispatch_no": d.dispatch_no, "draft_id": d.draft_id,
            "draft_version": d.draft_version, "date": d.dispatch_date, "mode": d.mode,
            "addressee": d.addressee, "dispatched_by": names.user(d.dispatched_by),
            "dispatched_at": iso(d.dispatched_at)}


def linked_files(session: Session, file_id: int) -> list[File]:
    links = session.execute(select(FileLink.file_id, FileLink.other_file_id).where(
        or_(FileLink.file_id == file_id, FileLink.other_file_id == file_id))
        .order_by(FileLink.id)).all()
    ids = [b if a == file_id else a for a, b in links]
    if not ids:
        return []
    found = {f.id: f for f in session.scalars(select(File).where(File.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def brief(f: File) -> dict[str, Any]:
    return {"id": f.id, "file_no": f.file_no, "subject": f.subject, "status": f.status}


def extras(session: Session, f: File, actor: User | None, names: Any, fresh: bool = False
           ) -> dict[str, Any]:
    """The view's parts past the file's own rows, and `process_error`. `fresh`: the file
    was made in this very command, so it has no drafts, dispatches, parts, scans, yellow
    notes, links or process failure yet (nothing to query)."""
    from engine.read.views import iso
    if fresh:
        return {"process_error": None, "kind": f.kind, "parked": False, "parked_at": None,
                "parked_by": None,
                "digitised_by": None, "digitised_at": None, "yellow_notes": [],
                "drafts": [], "dispatches": [], "links": [], "main_file": None,
                "part_no": f.part_no, "part_files": [], "documents": []}
    # most files have none of these: one statement of index probes says which to read,
    # instead of six queries that each find nothing; the same statement brings why the
    # file's process stopped, if it did (views.process_error, one round trip fewer)
    # (only a 'failed' instance has that event, and it stays failed: the filter spares
    # reading every event of a running file's instance, cold pages at a million files)
    failed = select(HistoryEvent.data).where(
        HistoryEvent.instance_id.in_(select(Instance.id).where(
            Instance.subject_kind == "file", Instance.subject_id == f.id,
            Instance.status == "failed")),
        HistoryEvent.kind == "process_failed").order_by(HistoryEvent.id.desc()).limit(1)
    has_drafts, has_dispatches, has_parts, has_scans, has_links, has_yellow, failure = \
        session.execute(select(
            exists().where(Draft.file_id == f.id),
            exists().where(Dispatch.file_id == f.id),
            exists().where(File.parent_file_id == f.id),
            exists().where(FileDocument.file_id == f.id),
            or_(exists().where(FileLink.file_id == f.id),
                exists().where(FileLink.other_file_id == f.id)),
            exists().where(YellowNote.file_id == f.id,
                           YellowNote.author_id == (actor.id if actor else None)),
            failed.scalar_subquery())).one()
    drafts: list[Draft] = list(session.scalars(
        select(Draft).where(Draft.file_id == f.id).order_by(Draft.id))) if has_drafts else []
    dispatches: list[Dispatch] = list(session.scalars(
        select(Dispatch).where(Dispatch.file_id == f.id).order_by(Dispatch.id))) \
        if has_dispatches else []
    parts: list[File] = list(session.scalars(
        select(File).where(File.parent_file_id == f.id).order_by(File.part_no))) \
        if has_parts else []
    parent = session.get(File, f.parent_file_id) if f.parent_file_id else None
    scans = session.execute(select(FileDocument, Document).join(
        Document, Document.sha256 == FileDocument.sha256).where(FileDocument.file_id == f.id)
        .order_by(FileDocument.id)).tuples().all() if has_scans else []
    message = failure.get("message") if isinstance(failure, dict) else None
    return {
        "process_error": str(message or "") or None,
        "kind": f.kind,
        "parked": f.parked_at is not None, "parked_at": iso(f.parked_at),
        "parked_by": names.user(f.parked_by),
        "digitised_by": names.user(f.digitised_by), "digitised_at": iso(f.digitised_at),
        "yellow_notes": [yellow_notes.row(n) for n in yellow_notes.of_author(
            session, f.id, actor)] if actor is not None and has_yellow else [],
        "drafts": [draft_row(session, d, names) for d in drafts],
        "dispatches": [dispatch_row(d, names) for d in dispatches],
        "links": [brief(o) for o in linked_files(session, f.id)] if has_links else [],
        "main_file": brief(parent) if parent else None, "part_no": f.part_no,
        "part_files": [brief(p) for p in parts],
        "documents": [{"id": fd.id, "kind": fd.kind, "title": fd.title, "sha256": d.sha256,
                       "pages": d.pages, "pdf": document_link(d.sha256),
                       "added_at": iso(fd.added_at)} for fd, d in scans],
    }
