"""Drafts for approval (DFA): outgoing letters drafted inside a file. Every edit is a new
version (author, time, text); versions can be compared; a post that can approve approves
a draft (or the file's own approval approves the drafts still pending). Once approved, or
once the file is locked, a draft's text is read-only (database triggers too)."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.files import draft_rows
from engine.domain.holding import held_post
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store.db import get_or_404
from engine.store.models import Draft, DraftVersion, File, Post, User, utcnow

MAX_DRAFT_CHARS = 50000


def get(session: Session, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFound(f"no draft with id {draft_id}")
    return draft


def _text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text: the draft is empty")
    if len(text) > MAX_DRAFT_CHARS:
        raise InvalidInput(f"text: at most {MAX_DRAFT_CHARS} characters")
    return text


def _editable(session: Session, file: File, actor: User, draft: Draft | None = None) -> int:
    if file.locked:
        raise Conflict(f"file {file.file_no} is approved and locked; its drafts are read-only")
    if file.status == "closed":
        raise Conflict(f"file {file.file_no} is closed")
    if draft is not None and draft.status != "draft":
        raise Conflict(f"draft {draft.id} is {draft.status}; it can no longer be edited")
    post_id = held_post(session, actor, file)
    if post_id is None:
        raise Forbidden(f"only the holder of file {file.file_no} can draft in it")
    return post_id


def create(session: Session, actor: User, file: File, subject: str, text: str,
           addressee: str | None) -> Draft:
    post_id = _editable(session, file, actor)
    subject = (subject or "").strip()
    if not subject or len(subject) > 500:
        raise InvalidInput("subject: required, at most 500 characters")
    draft = Draft(file_id=file.id, subject=subject, addressee=(addressee or "").strip() or None,
                  status="draft", version=1, created_by=actor.id,
                  created_post_id=post_id)
    session.add(draft)
    session.flush()
    session.add(DraftVersion(draft_id=draft.id, file_id=file.id, version=1, text=_text(text),
                             author_id=actor.id, created_at=utcnow()))
    session.flush()
    return draft


def edit(session: Session, actor: User, draft: Draft, file: File, text: str) -> DraftVersion:
    _editable(session, file, actor, draft)
    text = _text(text)
    latest = latest_version(session, draft)
    if latest is not None and latest.text == text:
        raise InvalidInput("text: unchanged from the latest version")
    draft.version += 1
    version = DraftVersion(draft_id=draft.id, file_id=file.id, version=draft.version,
                           text=text, author_id=actor.id, created_at=utcnow())
    session.add(version)
    session.flush()
    return version


def latest_version(session: Session, draft: Draft) -> DraftVersion | None:
    return _find_version(session, draft, draft.version)


def _find_version(session: Session, draft: Draft, number: int) -> DraftVersion | None:
    return session.scalar(select(DraftVersion).where(
        DraftVersion.draft_id == draft.id, DraftVersion.version == number))


def version_of(session: Session, draft: Draft, number: int) -> DraftVersion:
    row = _find_version(session, draft, number)
    if row is None:
        raise InvalidInput(f"version: draft {draft.id} has no version {number} "
                           f"(it has 1 to {draft.version})")
    return row


def versions(session: Session, draft: Draft) -> list[DraftVersion]:
    return list(session.scalars(select(DraftVersion).where(DraftVersion.draft_id == draft.id)
                                .order_by(DraftVersion.version)))


def diff(session: Session, draft: Draft, a: int, b: int) -> dict[str, Any]:
    """Line differences from version a to version b: unified text and per-line JSON."""
    old, new = version_of(session, draft, a), version_of(session, draft, b)
    old_lines, new_lines = old.text.splitlines(), new.text.splitlines()
    unified = "\n".join(difflib.unified_diff(old_lines, new_lines, f"version {a}",
                                             f"version {b}", lineterm=""))
    lines: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines += [{"op": "same", "text": t} for t in old_lines[i1:i2]]
            continue
        lines += [{"op": "removed", "text": t} for t in old_lines[i1:i2]]
        lines += [{"op": "added", "text": t} for t in new_lines[j1:j2]]
    return {"draft_id": draft.id, "from": a, "to": b, "unified": unified, "lines": lines,
            "changed": old.text != new.text}


def approve(session: Session, actor: User, draft: Draft, file: File) -> None:
    """The competent authority, holding the file, approves the latest version."""
    post_id = held_post(session, actor, file)
    if post_id is None:
        raise Forbidden(f"the file {file.file_no} must be with you to approve its draft")
    post = get_or_404(session, Post, post_id)
    if not post.can_approve:
        raise Forbidden(f"post {post.code} has no authority to approve a draft")
    if draft.status != "draft":
        raise Conflict(f"draft {draft.id} is already {draft.status}")
    draft.status = "approved"
    draft.approved_by = actor.id
    draft.approved_at = utcnow()


def approve_with_file(session: Session, file: File, approver: User | None) -> list[int]:
    """The file's approval approves, as they stand, the drafts still pending in it."""
    # which are pending, from the rows the content hash reads too (one query for both)
    ids = sorted({d.id for d in draft_rows(session, file) if d.status == "draft"})
    pending = list(session.scalars(select(Draft).where(
        Draft.id.in_(ids), Draft.status == "draft").order_by(Draft.id))) if ids else []
    for draft in pending:
        draft.status = "approved"
        draft.approved_by = approver.id if approver else None
        draft.approved_at = utcnow()
    return [d.id for d in pending]
