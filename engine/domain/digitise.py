"""Digitising paper: a physical file becomes an e-file, keeping its original number. Its
scanned note sheets become documents of the file; each scanned letter of its
correspondence becomes an e-receipt put up in the file."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain import files as files_mod
from engine.domain import receipts, uploads
from engine.domain.holding import held_post
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store.models import Counter, Department, File, FileDocument, Post, Section, User, utcnow

FILE_NO = re.compile(r"^([A-Za-z0-9-]+)/([A-Za-z0-9-]+)/([A-Za-z0-9-]+)/(\d{1,9})/(\d{4})$")
Upload = tuple[bytes, str | None]


def paper_file(session: Session, actor: User, file_no: str, subject: str | None) -> File:
    """A paper file not yet known here: registered under its original number."""
    match = FILE_NO.match(file_no.strip())
    if match is None:
        raise InvalidInput("file_no: use the paper file's number DEPT/SECTION/HEAD/SERIAL/YEAR "
                           "(e.g. GAD/EST/11011/7/2019)")
    dept_code, section_code, head, serial, year = match.groups()
    section = session.scalar(select(Section).join(Department).where(
        Department.code == dept_code, Section.code == section_code))
    if section is None:
        raise InvalidInput(f"file_no: no section {dept_code}/{section_code}")
    post = session.get(Post, actor.post_id) if actor.post_id else None
    own = session.get(Section, post.section_id) if post else None
    if own is None or own.department_id != section.department_id:
        raise Forbidden(f"file_no: {dept_code} is not your department")
    subject = (subject or "").strip()
    if not subject or len(subject) > 500:
        raise InvalidInput("subject: required for a paper file not registered yet "
                           "(at most 500 characters)")
    now = utcnow()
    file = File(file_no=file_no.strip(), section_id=section.id, head=head, serial=int(serial),
                year=int(year), subject=subject, priority="Normal", kind="physical",
                creator_post_id=actor.post_id, created_by=actor.id, created_at=now,
                holder_post_id=actor.post_id, holder_since=now)
    session.add(file)
    _keep_serials_ahead(session, dept_code, section_code, head, int(year), int(serial))
    session.flush()
    return file


def _keep_serials_ahead(session: Session, dept: str, section: str, head: str, year: int,
                        serial: int) -> None:
    """New files of that head and year must not take the paper file's serial."""
    key = f"file:{dept}:{section}:{head}:{year}"
    row = session.get(Counter, key, with_for_update=True)
    if row is None:
        session.add(Counter(key=key, value=serial))
    elif row.value < serial:
        row.value = serial


def check_can_digitise(session: Session, file: File, actor: User) -> None:
    if file.kind != "physical":
        raise Conflict(f"file {file.file_no} is already electronic")
    if file.holder_post_id is not None and held_post(session, actor, file) is None:
        raise Forbidden(f"only the holder of file {file.file_no} can digitise it")


def attach(session: Session, data_dir: Path, max_bytes: int, actor: User, file: File,
           note_sheets: list[Upload], letters: list[Upload], sender: str | None) -> None:
    if not note_sheets:
        raise InvalidInput("note_sheet: upload the scanned note sheets (PDF)")
    for data, _ in note_sheets:
        uploads.check_pdf(data, max_bytes, "note_sheet")
    for data, _ in letters:
        uploads.check_pdf(data, max_bytes, "correspondence")
    for data, name in note_sheets:
        doc = uploads.store_pdf(session, data_dir, max_bytes, data, name, actor, "note_sheet")
        exists = session.scalar(select(FileDocument.id).where(
            FileDocument.file_id == file.id, FileDocument.sha256 == doc.sha256))
        if exists is None:
            session.add(FileDocument(file_id=file.id, sha256=doc.sha256, kind="note_sheet",
                                     title=uploads.upload_name(name), added_by=actor.id,
                                     added_at=utcnow()))
    for number, (data, name) in enumerate(letters, start=1):
        doc = uploads.store_pdf(session, data_dir, max_bytes, data, name, actor,
                                "correspondence")
        receipt = receipts.diarise(session, actor, {
            "sender": (sender or "").strip() or f"Correspondence of paper file {file.file_no}",
            "subject": f"{file.subject} — correspondence {number} "
                       f"({uploads.upload_name(name)})",
            "mode": "post", "pdf_sha256": doc.sha256, "pdf_name": uploads.upload_name(name)})
        files_mod.put_up_receipt(session, file, receipt, actor)
    file.kind = "electronic"
    file.digitised_by = actor.id
    file.digitised_at = utcnow()
    session.flush()
