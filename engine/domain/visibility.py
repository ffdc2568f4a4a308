"""Who sees what. One rule for single reads (GET a file, a receipt, its PDF, track,
history) and for lists (find, search): both go through the SQL clauses below.

- auditor and admin read everything (docs/contract.md); a designer, holding no post, reads
  only what is granted to them.
- An officer reads what any post they hold now (substantive or additional charge) holds,
  held, created, diarised, sent or was sent: the item's *chain*. A receipt put up in a file
  is also read by the file's chain; a copy of a receipt is its own receipt, so its
  recipient reads the copy and its sender reads it through the movement.
- A monitoring post (posts.monitors = 'department', 'section', 'office' or 'state', e.g. a
  Collector or a divisional commissioner) reads everything of the sections in that scope
  (an office scope covers the offices under it, engine/domain/offices.py) and everything
  held now by a post of those sections (a file sent in from another office), read-only:
  it holds no tasks for those items, so it cannot act.
- Grading: Normal as above. Confidential: the chain, and monitoring posts only when their
  rank is at least CONFIDENTIAL_MONITOR_RANK (Deputy Secretary). Secret: the chain only,
  never a monitoring post.
- Anyone else only by an explicit, recorded, unexpired grant (access_grants).

Files gain a grading column in another part of the work; when `File.grading` exists the
same grading rule applies to files without any change here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from engine.domain import offices
from engine.domain.org import acting_post_ids
from engine.errors import Forbidden
from engine.store.access_models import AccessGrant
from engine.store.models import File, Movement, Post, Receipt, User, utcnow

READ_ALL_ROLES = ("auditor", "admin")
CONFIDENTIAL_MONITOR_RANK = 4


def sees_everything(actor: User) -> bool:
    return actor.role in READ_ALL_ROLES


def _grading_allows(grading: SQLColumnExpression[Any] | None, rank: int) -> ColumnElement:
    """What a monitoring post of this rank may read, by grading."""
    if grading is None:
        return true()
    allowed = ["Normal"] + (["Confidential"] if rank >= CONFIDENTIAL_MONITOR_RANK else [])
    return grading.in_(allowed)


def _monitor_scopes(session: Session, posts: list[int]) -> list[tuple[list[int], int]]:
    """(section ids, rank) for each monitoring post among the actor's posts."""
    return [(offices.monitor_sections(session, post), post.rank)
            for post in session.scalars(select(Post).where(Post.id.in_(posts),
                                                           Post.monitors.is_not(None)))]


def _held_in(sections: list[int]) -> Any:
    return select(Post.id).where(Post.section_id.in_(sections))


def _granted(actor: User, column: SQLColumnExpression[Any],
             target: SQLColumnExpression[Any], at: datetime) -> ColumnElement:
    return exists().where(
        AccessGrant.user_id == actor.id, column == target, AccessGrant.revoked_at.is_(None),
        or_(AccessGrant.until.is_(None), AccessGrant.until > at))


def _moved_through(column: SQLColumnExpression[Any], target: SQLColumnExpression[Any],
                   posts: list[int]) -> ColumnElement:
    return exists().where(column == target, or_(Movement.from_post_id.in_(posts),
                                                Movement.to_post_id.in_(posts)))


def file_chain(posts: list[int]) -> ColumnElement:
    if not posts:
        return false()
    return or_(File.holder_post_id.in_(posts), File.creator_post_id.in_(posts),
               _moved_through(Movement.file_id, File.id, posts))


def file_clause(session: Session, actor: User, at: datetime | None = None
                ) -> ColumnElement | None:
    """A WHERE clause on `files` for what the actor may read; None means everything."""
    if sees_everything(actor):
        return None
    at = at or utcnow()
    posts = acting_post_ids(session, actor, at)
    grading = getattr(File, "grading", None)
    parts = [file_chain(posts), _granted(actor, AccessGrant.file_id, File.id, at)]
    for sections, rank in _monitor_scopes(session, posts):
        parts.append(and_(or_(File.section_id.in_(sections),
                              File.holder_post_id.in_(_held_in(sections))),
                          _grading_allows(grading, rank)))
    return or_(*parts)


def receipt_clause(session: Session, actor: User, at: datetime | None = None
                   ) -> ColumnElement | None:
    """A WHERE clause on `receipts` for what the actor may read; None means everything."""
    if sees_everything(actor):
        return None
    at = at or utcnow()
    posts = acting_post_ids(session, actor, at)
    parts: list[ColumnElement] = [
        _granted(actor, AccessGrant.receipt_id, Receipt.id, at),
        # put up in a file: part of that file's correspondence, read by the file's chain
        Receipt.file_id.in_(select(File.id).where(
            or_(file_chain(posts), _granted(actor, AccessGrant.file_id, File.id, at)))),
    ]
    if posts:
        parts.append(or_(Receipt.holder_post_id.in_(posts),
                         Receipt.diarised_post_id.in_(posts),
                         _moved_through(Movement.receipt_id, Receipt.id, posts)))
    for sections, rank in _monitor_scopes(session, posts):
        parts.append(and_(or_(Receipt.section_id.in_(sections),
                              Receipt.holder_post_id.in_(_held_in(sections))),
                          _grading_allows(Receipt.grading, rank)))
    return or_(*parts)


def may_read_file(session: Session, actor: User, file: File) -> bool:
    clause = file_clause(session, actor)
    if clause is None:
        return True
    return session.scalar(select(File.id).where(File.id == file.id, clause)) is not None


def may_read_receipt(session: Session, actor: User, receipt: Receipt) -> bool:
    clause = receipt_clause(session, actor)
    if clause is None:
        return True
    return session.scalar(select(Receipt.id).where(Receipt.id == receipt.id, clause)) is not None


def _why(grading: str | None) -> str:
    if grading in ("Secret", "Confidential"):
        return (f"it is graded {grading} and open only to the posts it passed through "
                "(or by a recorded grant)")
    return "it never passed through a post you hold and nobody granted you access"


def require_read_file(session: Session, actor: User, file: File) -> None:
    if not may_read_file(session, actor, file):
        raise Forbidden(f"you may not see file {file.file_no}: "
                        f"{_why(getattr(file, 'grading', None))}")


def require_read_receipt(session: Session, actor: User, receipt: Receipt) -> None:
    if not may_read_receipt(session, actor, receipt):
        raise Forbidden(f"you may not see receipt {receipt.diary_no}: {_why(receipt.grading)}")
