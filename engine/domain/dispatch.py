"""Issue and dispatch: an approved draft is entered in the dispatch register with a
dispatch number per department and year, a date, a mode and an addressee."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from engine.domain.holding import acts_for
from engine.domain.numbering import next_value
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store.db import get_or_404
from engine.store.models import Dispatch, Draft, File, Section, User, utcnow

MODES = ("post", "email", "hand", "speed_post")


def issue(session: Session, actor: User, draft: Draft, file: File, mode: str,
          addressee: str | None, on: str | None) -> Dispatch:
    if draft.status not in ("approved", "issued"):
        raise Conflict(f"draft {draft.id} is not approved; only an approved draft is issued")
    if not (acts_for(session, actor, file.holder_post_id)
            or acts_for(session, actor, file.creator_post_id)):
        raise Forbidden(f"only the holder or the creator of file {file.file_no} issues its "
                        "drafts")
    if mode not in MODES:
        raise InvalidInput(f"mode: must be one of {', '.join(MODES)}")
    addressee = (addressee or draft.addressee or "").strip()
    if not addressee or len(addressee) > 300:
        raise InvalidInput("addressee: required (at most 300 characters)")
    try:
        day = date.fromisoformat(on) if on else utcnow().date()
    except ValueError:
        raise InvalidInput("date: use YYYY-MM-DD") from None
    dept = get_or_404(session, Section, file.section_id).department.code
    serial = next_value(session, f"dispatch:{dept}:{day.year}")
    row = Dispatch(draft_id=draft.id, file_id=file.id,
                   dispatch_no=f"{dept}/DSP/{serial}/{day.year}",
                   dispatch_date=day.isoformat(), mode=mode, addressee=addressee,
                   draft_version=draft.version, dispatched_by=actor.id,
                   dispatched_at=utcnow())
    session.add(row)
    draft.status = "issued"
    session.flush()
    return row
