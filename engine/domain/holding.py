"""Through which post an officer holds a file: the substantive post or an additional
charge in force (org.acting_post_ids), the same rule acting and inboxes use."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.domain import org
from engine.errors import Forbidden
from engine.store.models import File, User


def held_post(session: Session, actor: User, file: File) -> int | None:
    if file.holder_post_id is None:
        return None
    return file.holder_post_id if file.holder_post_id in org.acting_post_ids(session, actor) \
        else None


def acts_for(session: Session, actor: User, post_id: int | None) -> bool:
    return post_id is not None and post_id in org.acting_post_ids(session, actor)


def require_holder(session: Session, actor: User, file: File, what: str) -> int:
    """The post through which the actor holds the file; refused otherwise. Reading a
    file (monitoring, a grant, having sent it once) never implies writing to it."""
    post_id = held_post(session, actor, file)
    if post_id is None:
        raise Forbidden(f"only the holder of file {file.file_no} can {what}")
    return post_id


def require_holder_or_creator(session: Session, actor: User, file: File, what: str) -> None:
    """The holder, or the post that opened the file (which goes on working on it, e.g. in a
    part file, while the main file is with an approver)."""
    if held_post(session, actor, file) is None \
            and not acts_for(session, actor, file.creator_post_id):
        raise Forbidden(f"only the holder or the creator of file {file.file_no} can {what}")
