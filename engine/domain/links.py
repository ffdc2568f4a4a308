"""Related files (links, listed from both sides), part files of a main file, and parking a
file (set aside by its holder: out of the active inbox, still with the post)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.domain.holding import held_post
from engine.domain.numbering import next_value
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store.models import File, FileLink, OpenTask, User, utcnow


def _holder(session: Session, file: File, actor: User, what: str) -> None:
    if held_post(session, actor, file) is None:
        raise Forbidden(f"only the holder of file {file.file_no} can {what} it")


def link(session: Session, actor: User, file: File, other: File) -> FileLink:
    _holder(session, file, actor, "link")
    if other.id == file.id:
        raise InvalidInput("other_file_id: a file cannot be linked to itself")
    low, high = sorted((file.id, other.id))
    exists = session.scalar(select(FileLink.id).where(FileLink.file_id == low,
                                                      FileLink.other_file_id == high))
    if exists is not None:
        raise Conflict(f"files {file.file_no} and {other.file_no} are already linked")
    row = FileLink(file_id=low, other_file_id=high, linked_by=actor.id, linked_at=utcnow())
    session.add(row)
    session.flush()
    return row


def new_part(session: Session, actor: User, main: File, subject: str | None) -> File:
    """A part file: same head, serial and year, number main + '/P<n>', held by the actor."""
    if main.parent_file_id is not None:
        raise InvalidInput(f"file_id: {main.file_no} is itself a part file; open the part "
                           "under its main file")
    if main.status == "closed":
        raise Conflict(f"file {main.file_no} is closed")
    subject = (subject or "").strip() or main.subject
    if len(subject) > 500:
        raise InvalidInput("subject: at most 500 characters")
    n = next_value(session, f"part:{main.id}")
    now = utcnow()
    part = File(file_no=f"{main.file_no}/P{n}", section_id=main.section_id, head=main.head,
                serial=main.serial, year=main.year, subject=subject, priority=main.priority,
                kind="electronic", creator_post_id=actor.post_id, created_by=actor.id,
                created_at=now, holder_post_id=actor.post_id, holder_since=now,
                parent_file_id=main.id, part_no=n)
    session.add(part)
    session.flush()
    return part


def park(session: Session, actor: User, file: File) -> None:
    _holder(session, file, actor, "park")
    if file.status == "closed":
        raise Conflict(f"file {file.file_no} is closed")
    if file.parked_at is not None:
        raise Conflict(f"file {file.file_no} is already parked")
    file.parked_at = utcnow()
    file.parked_by = actor.id
    _flag_tasks(session, file, True)


def unpark(session: Session, actor: User, file: File) -> None:
    _holder(session, file, actor, "unpark")
    if file.parked_at is None:
        raise Conflict(f"file {file.file_no} is not parked")
    file.parked_at = None
    file.parked_by = None
    _flag_tasks(session, file, False)


def _flag_tasks(session: Session, file: File, parked: bool) -> None:
    session.execute(update(OpenTask).where(
        OpenTask.file_id == file.id, OpenTask.post_id == file.holder_post_id,
        OpenTask.closed_at.is_(None)).values(parked=parked))
