"""Files: numbering, green notes, correspondence, lock on approval, closure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.audit.history import canonical_json
from engine.domain import subject_heads
from engine.domain.numbering import file_no
from engine.domain.org import acting_post_ids, acting_post_info
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.sla.policy import PRIORITIES
from engine.store.db import get_or_404
from engine.store.file_models import Draft, DraftVersion
from engine.store.models import Correspondence, File, Note, Receipt, User, utcnow

RECORD_CATEGORIES = ("A", "B", "C")
KINDS = ("electronic", "physical")
MAX_NOTE_CHARS = 20000


def get_file(session: Session, file_id: int | None) -> File:
    """The file, or NotFound (also for a task or movement that names no file)."""
    return get_or_404(session, File, file_id, "file")


def new_file(session: Session, actor: User, subject: str, head: str, priority: str,
             kind: str = "electronic") -> File:
    subject = (subject or "").strip()
    head = (head or "").strip()
    if not subject:
        raise InvalidInput("subject: required")
    if len(subject) > 500:
        raise InvalidInput("subject: at most 500 characters")
    if not head or not head.replace("-", "").isalnum() or len(head) > 32:
        raise InvalidInput("head: required, letters and digits only (e.g. 11011)")
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority: must be one of {', '.join(PRIORITIES)}")
    if kind not in KINDS:
        raise InvalidInput(f"kind: must be one of {', '.join(KINDS)}")
    post, section = acting_post_info(session, actor)
    subject_heads.require_active(session, section.department_id, head)
    year = utcnow().year
    number, serial = file_no(session, section.department_code, section.code, head, year)
    file = File(file_no=number, section_id=section.id, head=head, serial=serial, year=year,
                subject=subject, priority=priority, kind=kind, creator_post_id=post.id,
                created_by=actor.id, holder_post_id=post.id, holder_since=utcnow())
    session.add(file)
    session.flush()
    return file


def add_note(session: Session, file: File, actor: User, text: str, flush: bool = True
             ) -> Note:
    """The holder adds a green note paragraph; refused once the file is locked."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text: the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"text: at most {MAX_NOTE_CHARS} characters")
    if file.locked:
        raise Conflict(f"file {file.file_no} is approved and locked; notes cannot be added")
    if file.status == "closed":
        raise Conflict(f"file {file.file_no} is closed")
    if file.holder_post_id not in acting_post_ids(session, actor):
        raise Forbidden(f"only the holder of file {file.file_no} can add a note")
    # the file keeps its last paragraph number (no MAX over the notes); two notes racing
    # for one number meet the notes' unique (file_id, para_no)
    para_no = (file.last_para_no or 0) + 1
    file.last_para_no = para_no
    # the post the note is written for (an additional charge writes for that post)
    note = Note(file_id=file.id, para_no=para_no, text=text, author_id=actor.id,
                author_post_id=file.holder_post_id)
    session.add(note)
    if flush:  # the note now (reads of the content see it); the file's mark later
        session.flush([note])
    # else it goes out with the command's flush: sealed already if the file moves on
    _changed(session, file.id)
    return note


def _command_cache(session: Session) -> dict | None:
    ctx = session.info.get("command_context")
    return None if ctx is None else ctx.cache


def _changed(session: Session, file_id: int) -> None:
    """The file's content changed in this command: hash again when asked."""
    cache = _command_cache(session)
    if cache is not None:
        cache.pop(("content_hash", file_id), None)
        cache.pop((_DRAFT_ROWS, file_id), None)


def seal_notes(session: Session, file: File, flush: bool = False) -> None:
    """The file moved on: every note written so far becomes immutable. The file's marks
    say whether any note is unsealed (paragraphs after `sealed_para_no`); only then one
    UPDATE of the unsealed rows."""
    last, sealed = file.last_para_no or 0, file.sealed_para_no or 0
    if last <= sealed:
        return
    # notes written in this command and not flushed yet are inserted sealed
    pending = [o for o in session.new if isinstance(o, Note) and o.file_id == file.id]
    for note in pending:
        note.sealed = True
    if pending and flush:  # now, before the lock reaches the file's row
        session.flush(pending)
    if last - len(pending) > sealed:  # earlier notes are still unsealed
        session.execute(update(Note).where(Note.file_id == file.id, Note.sealed.is_(False))
                        .values(sealed=True))
    file.sealed_para_no = last


def put_up_receipt(session: Session, file: File, receipt: Receipt, actor: User | None
                   ) -> Correspondence:
    if file.locked:
        raise Conflict(f"file {file.file_no} is locked; nothing can be added")
    cache = _command_cache(session)
    if cache is None or not is_fresh(session, file):  # a file opened in this command has none
        existing = session.scalar(select(Correspondence).where(
            Correspondence.file_id == file.id, Correspondence.receipt_id == receipt.id))
        if existing is not None:
            return existing
    item = Correspondence(file_id=file.id, receipt_id=receipt.id,
                          added_by=actor.id if actor else receipt.diarised_by)
    session.add(item)
    receipt.status = "filed"
    receipt.file_id = file.id
    receipt.holder_post_id = None
    if cache is None:
        session.flush()
    elif is_fresh(session, file):  # the answer of the command lists it without a query
        cache.setdefault((FRESH_CORRESPONDENCE, file.id), []).append((item, receipt))
    # inside a command the row goes out with the command's flush (`content` flushes first
    # when it must read it)
    _changed(session, file.id)
    return item


FRESH = "fresh_file"
FRESH_CORRESPONDENCE = "fresh_correspondence"


def mark_fresh(session: Session, file: File, opened: list[Any]) -> None:
    """The file was opened in this command; `opened` are its open tasks (the answer of
    the command shows them without reading them back)."""
    cache = _command_cache(session)
    if cache is not None:
        cache[(FRESH, file.id)] = opened


def is_fresh(session: Session, file: File) -> bool:
    cache = _command_cache(session)
    return cache is not None and (FRESH, file.id) in cache


def fresh_tasks(session: Session, file: File) -> list[Any] | None:
    cache = _command_cache(session)
    return None if cache is None else cache.get((FRESH, file.id))


def fresh_correspondence(session: Session, file: File) -> list[tuple[Any, Any]] | None:
    """(correspondence, receipt) put up in a file opened in this command, in order."""
    if not is_fresh(session, file):
        return None
    cache = _command_cache(session)
    return [] if cache is None else list(cache.get((FRESH_CORRESPONDENCE, file.id), []))


def lock(session: Session, file: File, approver: User | None) -> datetime:
    """Seal the notes and lock the file; returns the time of locking."""
    seal_notes(session, file, flush=True)  # executed now, before the lock reaches the row
    file.locked = True
    file.locked_at = locked_at = utcnow()
    file.status = "approved"
    file.approved_by = approver.id if approver else None
    return locked_at


def close(file: File, record_category: str) -> None:
    if record_category not in RECORD_CATEGORIES:
        raise InvalidInput("record_category: must be A, B or C")
    file.status = "closed"
    file.record_category = record_category
    file.closed_at = utcnow()
    file.holder_post_id = None


def _iso(value: datetime | None) -> str | None:
    """The same text on SQLite and PostgreSQL: UTC, always with microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def content_hash(session: Session, file: File) -> str:
    """SHA-256 of what a locked file must keep unchanged (`content`). Worked out once per
    command (the lock and the approval signature both need it)."""
    cache = _command_cache(session)
    if cache is not None and ("content_hash", file.id) in cache:
        return cache[("content_hash", file.id)]
    digest = hashlib.sha256(canonical_json(content(session, file)).encode()).hexdigest()
    if cache is not None:
        cache[("content_hash", file.id)] = digest
    return digest


def content(session: Session, file: File) -> dict:
    """What a locked file must keep unchanged: its identity, its notes (in para order) and
    its correspondence (in the order it was put up, with each receipt's diary number,
    subject, sender and PDF hash). Read with column queries, so the values are the
    database's, not whatever an object in the session holds. Drafts (DFA versions) are
    in it too, so the lock and the approval signatures cover them."""
    if any(isinstance(o, (Correspondence, Note)) for o in session.new):
        session.flush()  # notes and correspondence added in this command are content
    conn = session.connection()
    notes = conn.execute(_CONTENT_NOTES, {"b_file": file.id})
    correspondence = conn.execute(_CONTENT_CORRESPONDENCE, {"b_file": file.id})
    # Drafts for approval: each draft's fixed fields and every version of its text (what
    # the approver saw). Their status moves on after approval (issued), so it is left out.
    drafts = [d for d in draft_rows(session, file) if d.version is not None]
    content = {
        "file": {"file_no": file.file_no, "subject": file.subject},
        "notes": [{"para_no": n.para_no, "text": n.text, "author_id": n.author_id,
                   "author_post_id": n.author_post_id, "created_at": _iso(n.created_at)}
                  for n in notes],
        "correspondence": [{"receipt_id": c.receipt_id, "diary_no": c.diary_no,
                            "subject": c.subject, "sender": c.sender,
                            "pdf_sha256": c.pdf_sha256}
                           for c in correspondence],
    }
    drafts_ = [{"draft_id": d.id, "subject": d.subject, "addressee": d.addressee,
                "version": d.version, "text": d.text, "author_id": d.author_id,
                "created_at": _iso(d.created_at)} for d in drafts]
    if drafts_:  # a file without drafts keeps the hash it always had
        content["drafts"] = drafts_
    return content


# column statements built once (each approval reads them), run on the connection
_CONTENT_NOTES = (
    select(Note.para_no, Note.text, Note.author_id, Note.author_post_id, Note.created_at)
    .where(Note.file_id == bindparam("b_file")).order_by(Note.para_no, Note.id))
_CONTENT_CORRESPONDENCE = (
    select(Correspondence.receipt_id, Receipt.diary_no, Receipt.subject, Receipt.sender,
           Receipt.pdf_sha256)
    .outerjoin(Receipt, Receipt.id == Correspondence.receipt_id)
    .where(Correspondence.file_id == bindparam("b_file")).order_by(Correspondence.id))
_DRAFTS_WITH_VERSIONS = (
    select(Draft.id, Draft.status, Draft.subject, Draft.addressee, DraftVersion.version,
           DraftVersion.text, DraftVersion.author_id, DraftVersion.created_at)
    .outerjoin(DraftVersion, DraftVersion.draft_id == Draft.id)
    .where(Draft.file_id == bindparam("b_file")).order_by(Draft.id, DraftVersion.version))
_DRAFT_ROWS = "draft_rows"


def draft_rows(session: Session, file: File) -> list[Any]:
    """Every draft of the file with its status and each version (a draft without one
    once, with version None), read once per command: the approval reads it to find the
    drafts still pending, and the content hash reads the versions. Cached until the
    file's content changes in the command (`_changed`)."""
    cache = _command_cache(session)
    if cache is not None and (_DRAFT_ROWS, file.id) in cache:
        return list(cache[(_DRAFT_ROWS, file.id)])
    rows = list(session.connection().execute(_DRAFTS_WITH_VERSIONS, {"b_file": file.id}))
    if cache is not None:
        cache[(_DRAFT_ROWS, file.id)] = rows
    return list(rows)


def reopen(file: File) -> None:
    """An approved reopening: open again for noting; the record category and closing date
    go (they are in the history), an approved file is unlocked for new notes."""
    if file.status != "closed":
        raise Conflict(f"file {file.file_no} is not closed")
    file.status = "open"
    file.locked = False
    file.record_category = None
    file.closed_at = None
