"""Through which post an officer holds a file: the substantive post or an additional
charge in force (org.acting_post_ids), the same rule acting and inboxes use."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.domain import org
from engine.store.models import File, User


def held_post(session: Session, actor: User, file: File) -> int | None:
    if file.holder_post_id is None:
        return None
    return file.holder_post_id if file.holder_post_id in org.acting_post_ids(session, actor) \
        else None


def acts_for(session: Session, actor: User, post_id: int | None) -> bool:
    return post_id is not None and post_id in org.acting_post_ids(session, actor)
