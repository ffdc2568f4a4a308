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

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    SQLColumnExpression,
    exists,
    false,
    literal,
    or_,
    select,
    true,
    union_all,
)
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


# `among` (below): only these ids are asked about. Every part of a union then reads the
# candidates' own rows (by primary key or item id) instead of all of the actor's, so
# checking a few search hits costs what they are, not what the actor can see.
Among = Sequence[int] | Select | None


def _only(query: Select, column: SQLColumnExpression[Any], among: Among) -> Select:
    return query if among is None else query.where(column.in_(among))


def _grant_ids(actor: User, column: SQLColumnExpression[Any], at: datetime,
               among: Among = None) -> Select:
    return _only(select(column).where(
        AccessGrant.user_id == actor.id, column.is_not(None), AccessGrant.revoked_at.is_(None),
        or_(AccessGrant.until.is_(None), AccessGrant.until > at)), column, among)


def _moved_ids(column: SQLColumnExpression[Any], posts: list[int], among: Among = None
               ) -> list[Select]:
    """Items sent from or to the posts: two index-backed lookups (ix_movements_from_post,
    ix_movements_to_post), not an OR that scans every movement."""
    return [_only(select(column).where(Movement.from_post_id.in_(posts), column.is_not(None)),
                  column, among),
            _only(select(column).where(Movement.to_post_id.in_(posts), column.is_not(None)),
                  column, among)]


def _file_chain_ids(posts: list[int], among: Among = None) -> list[Select]:
    if not posts:
        return []
    return [_only(select(File.id).where(File.holder_post_id.in_(posts)), File.id, among),
            _only(select(File.id).where(File.creator_post_id.in_(posts)), File.id, among),
            *_moved_ids(Movement.file_id, posts, among)]


def file_clause(session: Session, actor: User, at: datetime | None = None
                ) -> ColumnElement | None:
    """A WHERE clause on `files` for what the actor may read; None means everything."""
    ids = file_ids(session, actor, at)
    return None if ids is None else File.id.in_(ids)


def receipt_clause(session: Session, actor: User, at: datetime | None = None
                   ) -> ColumnElement | None:
    """A WHERE clause on `receipts` for what the actor may read; None means everything."""
    ids = receipt_ids(session, actor, at)
    return None if ids is None else Receipt.id.in_(ids)


def _union(parts: list[Select]) -> Select | CompoundSelect:
    """A UNION ALL of index-backed id lookups. Each part reads only the actor's own rows
    through an index, so `id IN (...)` costs what the actor can see, not what the
    database holds (a million files)."""
    if not parts:
        return select(literal(None)).where(false())
    return parts[0] if len(parts) == 1 else union_all(*parts)


def file_ids(session: Session, actor: User, at: datetime | None = None, among: Among = None
             ) -> Select | CompoundSelect | None:
    """The ids of the files the actor may read, as a subquery; None means every file.
    With `among`: only those of these ids."""
    if sees_everything(actor):
        return None
    at = at or utcnow()
    posts = acting_post_ids(session, actor, at)
    grading = getattr(File, "grading", None)
    parts = [*_file_chain_ids(posts, among), _grant_ids(actor, AccessGrant.file_id, at, among)]
    for sections, rank in _monitor_scopes(session, posts):
        allowed = _grading_allows(grading, rank)
        parts += [_only(select(File.id).where(File.section_id.in_(sections), allowed),
                        File.id, among),
                  _only(select(File.id).where(File.holder_post_id.in_(_held_in(sections)),
                                              allowed), File.id, among)]
    return _union(parts)


def receipt_ids(session: Session, actor: User, at: datetime | None = None,
                among: Among = None) -> Select | CompoundSelect | None:
    """The ids of the receipts the actor may read, as a subquery; None means every one.
    With `among`: only those of these ids."""
    if sees_everything(actor):
        return None
    at = at or utcnow()
    posts = acting_post_ids(session, actor, at)
    # put up in a file: part of that file's correspondence, read by the file's chain
    in_files = None if among is None else select(Receipt.file_id).where(Receipt.id.in_(among))
    files = [*_file_chain_ids(posts, in_files),
             _grant_ids(actor, AccessGrant.file_id, at, in_files)]
    parts: list[Select] = [
        _grant_ids(actor, AccessGrant.receipt_id, at, among),
        _only(select(Receipt.id).where(Receipt.file_id.in_(_union(files))), Receipt.id, among),
    ]
    if posts:
        parts += [_only(select(Receipt.id).where(Receipt.holder_post_id.in_(posts)),
                        Receipt.id, among),
                  _only(select(Receipt.id).where(Receipt.diarised_post_id.in_(posts)),
                        Receipt.id, among),
                  *_moved_ids(Movement.receipt_id, posts, among)]
    for sections, rank in _monitor_scopes(session, posts):
        allowed = _grading_allows(Receipt.grading, rank)
        parts += [_only(select(Receipt.id).where(Receipt.section_id.in_(sections), allowed),
                        Receipt.id, among),
                  _only(select(Receipt.id).where(Receipt.holder_post_id.in_(_held_in(sections)),
                                                 allowed), Receipt.id, among)]
    return _union(parts)


# ---------------------------------------------------------------- one item
# A single read checks the one item's own rows (its movements by ix_movements_file_id,
# its grants), never the actor's whole visible set: a monitoring post of the state
# would otherwise collect every file to decide about one.


def _moved_through(session: Session, column: SQLColumnExpression[Any], item_id: int,
                   posts: list[int]) -> bool:
    return session.scalar(select(exists().where(
        column == item_id, or_(Movement.from_post_id.in_(posts),
                               Movement.to_post_id.in_(posts))))) or False


def _granted(session: Session, actor: User, column: SQLColumnExpression[Any], item_id: int,
             at: datetime) -> bool:
    return session.scalar(select(exists().where(
        AccessGrant.user_id == actor.id, column == item_id, AccessGrant.revoked_at.is_(None),
        or_(AccessGrant.until.is_(None), AccessGrant.until > at)))) or False


def _monitored(session: Session, posts: list[int], section_id: int,
               holder_post_id: int | None, grading: str | None) -> bool:
    for sections, rank in _monitor_scopes(session, posts):
        if grading is not None and grading not in (
                ["Normal"] + (["Confidential"] if rank >= CONFIDENTIAL_MONITOR_RANK else [])):
            continue
        if section_id in sections:
            return True
        if holder_post_id is not None and session.scalar(select(Post.section_id).where(
                Post.id == holder_post_id)) in sections:
            return True
    return False


def _in_file_chain(session: Session, actor: User, file: File, posts: list[int],
                   at: datetime) -> bool:
    if posts and (file.holder_post_id in posts or file.creator_post_id in posts
                  or _moved_through(session, Movement.file_id, file.id, posts)):
        return True
    return _granted(session, actor, AccessGrant.file_id, file.id, at)


def may_read_file(session: Session, actor: User, file: File) -> bool:
    if sees_everything(actor):
        return True
    at = utcnow()
    posts = acting_post_ids(session, actor, at)
    if _in_file_chain(session, actor, file, posts, at):
        return True
    return _monitored(session, posts, file.section_id, file.holder_post_id,
                      getattr(file, "grading", None))


def may_read_receipt(session: Session, actor: User, receipt: Receipt) -> bool:
    if sees_everything(actor):
        return True
    at = utcnow()
    posts = acting_post_ids(session, actor, at)
    if posts and (receipt.holder_post_id in posts or receipt.diarised_post_id in posts
                  or _moved_through(session, Movement.receipt_id, receipt.id, posts)):
        return True
    if _granted(session, actor, AccessGrant.receipt_id, receipt.id, at):
        return True
    if receipt.file_id is not None:
        file = session.get(File, receipt.file_id)
        if file is not None and _in_file_chain(session, actor, file, posts, at):
            return True
    return _monitored(session, posts, receipt.section_id, receipt.holder_post_id,
                      receipt.grading)


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
