"""Yellow notes: private draft notes of the file's holder. Only the author sees, edits or
deletes one; confirming turns it into the next green note paragraph."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain import files as files_mod
from engine.domain.holding import held_post
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.models import Correspondence, File, Note, User, YellowNote, utcnow


def clean_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text: the note is empty")
    if len(text) > files_mod.MAX_NOTE_CHARS:
        raise InvalidInput(f"text: at most {files_mod.MAX_NOTE_CHARS} characters")
    return text


def check_reference(session: Session, file: File, ref_id: int | None) -> int | None:
    """A note may speak of a correspondence item, but only one of its own file."""
    if ref_id is None:
        return None
    item = session.get(Correspondence, int(ref_id))
    if item is None or item.file_id != file.id:
        raise InvalidInput(f"ref_correspondence_id: {ref_id} is not a correspondence item of "
                           f"file {file.file_no}")
    return item.id


def _writable(file: File) -> None:
    if file.locked:
        raise Conflict(f"file {file.file_no} is approved and locked; notes cannot be added")
    if file.status == "closed":
        raise Conflict(f"file {file.file_no} is closed")


def add(session: Session, actor: User, file: File, text: str, ref_id: int | None
        ) -> YellowNote:
    text = clean_text(text)
    _writable(file)
    post_id = held_post(session, actor, file)
    if post_id is None:
        raise Forbidden(f"only the holder of file {file.file_no} can write a note in it")
    note = YellowNote(file_id=file.id, author_id=actor.id, author_post_id=post_id,
                      text=text, ref_correspondence_id=check_reference(session, file, ref_id))
    session.add(note)
    session.flush()
    return note


def own(session: Session, actor: User, note_id: int) -> YellowNote:
    """The actor's own yellow note; anyone else's does not exist for them."""
    note = session.get(YellowNote, note_id)
    if note is None or note.author_id != actor.id:
        raise NotFound(f"no yellow note with id {note_id} of yours")
    return note


def edit(session: Session, actor: User, note_id: int, text: str,
         ref_id: int | None = None, set_ref: bool = False) -> YellowNote:
    note = own(session, actor, note_id)
    note.text = clean_text(text)
    if set_ref:
        note.ref_correspondence_id = check_reference(
            session, files_mod.get_file(session, note.file_id), ref_id)
    note.updated_at = utcnow()
    session.flush()
    return note


def delete(session: Session, actor: User, note_id: int) -> None:
    session.delete(own(session, actor, note_id))
    session.flush()


def confirm(session: Session, actor: User, note_id: int) -> Note:
    """Into the note sheet: the next para number, sealed when the file moves on."""
    draft = own(session, actor, note_id)
    file = files_mod.get_file(session, draft.file_id)
    green = files_mod.add_note(session, file, actor, draft.text)
    green.ref_correspondence_id = draft.ref_correspondence_id
    session.delete(draft)
    session.flush()
    return green


def of_author(session: Session, file_id: int, actor: User) -> list[YellowNote]:
    return list(session.scalars(select(YellowNote).where(
        YellowNote.file_id == file_id, YellowNote.author_id == actor.id)
        .order_by(YellowNote.id)))


def row(note: YellowNote) -> dict[str, Any]:
    from engine.read.views import iso
    return {"id": note.id, "file_id": note.file_id, "text": note.text, "kind": "yellow",
            "ref_correspondence_id": note.ref_correspondence_id,
            "created_at": iso(note.created_at), "updated_at": iso(note.updated_at)}
