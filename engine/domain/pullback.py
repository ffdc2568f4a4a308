"""Opening and pulling back: the first time the recipient post's holder opens a file is
recorded on its last movement; until then the last sender may pull the file back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.domain import org
from engine.domain.holding import acts_for, held_post
from engine.errors import Conflict, Forbidden
from engine.store.models import File, Movement, Note, OpenTask, Receipt, User, utcnow

PULLED_BACK = "pulled_back"


def last_movement(session: Session, file_id: int, lock: bool = False) -> Movement | None:
    query = select(Movement).where(Movement.file_id == file_id) \
        .order_by(Movement.id.desc()).limit(1)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def unopened_arrival(session: Session, file: File, actor: User) -> int | None:
    """The id of the movement that brought the file to the actor's post, if the actor holds
    it and nobody at that post has opened it yet."""
    post_id = held_post(session, actor, file)
    if post_id is None:
        return None
    last = last_movement(session, file.id)
    if last is None or last.to_post_id != post_id or last.opened_at is not None:
        return None
    return last.id


def record_opening(session: Session, file_id: int, movement_id: int, post_id: int) -> bool:
    """Record the first opening, re-checked under the movement's row lock: a pull back
    holds that lock too, so the two never both succeed (whichever commits first wins)."""
    movement = session.scalar(select(Movement).where(Movement.id == movement_id)
                              .with_for_update())
    if movement is None or movement.opened_at is not None:
        return False
    holder = session.scalar(select(File.holder_post_id).where(File.id == file_id))
    later = session.scalar(select(Movement.id).where(
        Movement.file_id == file_id, Movement.id > movement_id).limit(1))
    if holder != post_id or later is not None:
        return False  # pulled back (or moved on) meanwhile: nothing was opened
    now = utcnow()
    movement.opened_at = now
    session.execute(update(OpenTask).where(
        OpenTask.file_id == file_id, OpenTask.post_id == post_id,
        OpenTask.closed_at.is_(None), OpenTask.opened_at.is_(None)).values(opened_at=now))
    return True


def check(session: Session, actor: User, file: File) -> tuple[Movement, OpenTask]:
    """The movement to undo and the recipient's task; every refusal says why."""
    last = last_movement(session, file.id, lock=True)
    if last is None or last.from_post_id is None:
        raise Conflict(f"file {file.file_no} has not been sent anywhere; nothing to pull back")
    if last.action == PULLED_BACK:
        raise Conflict(f"file {file.file_no} has already been pulled back")
    if not acts_for(session, actor, last.from_post_id):
        raise Forbidden(f"only the last sender of file {file.file_no} can pull it back")
    if last.opened_at is not None:
        raise Conflict(f"file {file.file_no} was opened by the recipient at "
                       f"{last.opened_at.isoformat()}; it can no longer be pulled back")
    wrote = session.scalar(select(Note.id).where(
        Note.file_id == file.id, Note.author_post_id == last.to_post_id,
        Note.created_at >= last.sent_at).limit(1))
    if wrote is not None:
        raise Conflict(f"the recipient has already written a note in file {file.file_no}; "
                       "it can no longer be pulled back")
    if file.holder_post_id != last.to_post_id:
        raise Conflict(f"file {file.file_no} has moved on; it can no longer be pulled back")
    task = session.scalar(select(OpenTask).where(
        OpenTask.file_id == file.id, OpenTask.post_id == last.to_post_id,
        OpenTask.closed_at.is_(None)).order_by(OpenTask.id).limit(1))
    if task is None:
        raise Conflict(f"file {file.file_no} is not waiting with the recipient")
    return last, task


def sender_step(session: Session, file: File, sender_post_id: int) -> OpenTask | None:
    """The sender's own step before the send (to go back to the same kind of step)."""
    return session.scalar(select(OpenTask).where(
        OpenTask.instance_id == file.instance_id, OpenTask.post_id == sender_post_id,
        OpenTask.closed_at.is_not(None)).order_by(OpenTask.id.desc()).limit(1))


def sent_items(session: Session, actor: User, limit: int = 100) -> list[dict[str, Any]]:
    from engine.read.views import Names, iso
    posts = org.acting_post_ids(session, actor)
    if not posts:
        return []
    moves = list(session.scalars(select(Movement).where(
        Movement.from_post_id.in_(posts), Movement.action != PULLED_BACK)
        .order_by(Movement.id.desc()).limit(limit)))
    file_ids = {m.file_id for m in moves if m.file_id}
    receipt_ids = {m.receipt_id for m in moves if m.receipt_id}
    last_ids = set(session.scalars(select(func.max(Movement.id)).where(
        Movement.file_id.in_(file_ids)).group_by(Movement.file_id))) if file_ids else set()
    files = {f.id: f for f in session.scalars(select(File).where(File.id.in_(file_ids)))}
    receipts = {r.id: r for r in session.scalars(
        select(Receipt).where(Receipt.id.in_(receipt_ids)))} if receipt_ids else {}
    names = Names(session)
    out = []
    for m in moves:
        if m.file_id:
            item: Any = files[m.file_id]
            kind, number = "file", item.file_no
            can = (m.id in last_ids and m.opened_at is None
                   and item.holder_post_id == m.to_post_id)
        elif m.receipt_id:
            item = receipts[m.receipt_id]
            kind, number, can = "receipt", item.diary_no, False
        else:  # every movement is of a file or a receipt
            continue
        out.append({"kind": kind, "id": item.id, "number": number, "subject": item.subject,
                    "to": names.post(m.to_post_id), "to_user": names.holder_user(m.to_post_id),
                    "action": m.action, "sent_at": iso(m.sent_at), "opened_at": iso(m.opened_at),
                    "movement_id": m.id, "can_pull_back": can})
    return out
