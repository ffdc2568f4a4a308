"""Dak: diarising incoming letters."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.domain import contact, org
from engine.domain.numbering import ack_no, diary_no
from engine.errors import InvalidInput
from engine.store.db import get_or_404
from engine.store.models import Receipt, User, utcnow

MODES = ("post", "hand", "email", "electronic")
FORMS = ("electronic", "physical")
GRADINGS = ("Normal", "Confidential", "Secret")
LANGUAGES = ("en", "hi", "other")


def get_receipt(session: Session, receipt_id: int | None) -> Receipt:
    """The receipt, or NotFound (also for a task or movement that names no receipt)."""
    return get_or_404(session, Receipt, receipt_id, "receipt")


def diarise(session: Session, actor: User, fields: dict[str, Any]) -> Receipt:
    sender = contact.name(fields.get("sender"), "sender", 300, required=False) or ""
    subject = str(fields.get("subject") or "").strip()
    if not sender:
        raise InvalidInput("sender: required")
    if not subject:
        raise InvalidInput("subject: required")
    mode = fields.get("mode") or "post"
    if mode not in MODES:
        raise InvalidInput(f"mode: must be one of {', '.join(MODES)}")
    grading = fields.get("grading") or "Normal"
    if grading not in GRADINGS:
        raise InvalidInput(f"grading: must be one of {', '.join(GRADINGS)}")
    language = fields.get("language") or "en"
    if language not in LANGUAGES:
        raise InvalidInput(f"language: must be one of {', '.join(LANGUAGES)}")
    letter_date = fields.get("letter_date")
    if letter_date:
        try:
            date.fromisoformat(str(letter_date))
        except ValueError:
            raise InvalidInput("letter_date: use YYYY-MM-DD") from None
    pdf_sha256 = fields.get("pdf_sha256")
    form = fields.get("form") or ("electronic" if pdf_sha256 else "physical")
    if form not in FORMS:
        raise InvalidInput(f"form: must be one of {', '.join(FORMS)}")
    if form == "electronic" and not pdf_sha256:
        raise InvalidInput("pdf: an electronic receipt needs its scanned letter")
    if form == "physical" and pdf_sha256:
        raise InvalidInput("pdf: a physical receipt is tracked, not scanned; "
                           "send form=electronic with the scan")
    post, section = org.acting_post_info(session, actor)
    now = utcnow()
    paper = str(fields.get("paper_location") or "").strip()[:200] or None
    if form == "physical" and paper is None:
        paper = f"with {post.title}"
    receipt = Receipt(
        diary_no=diary_no(session, section.department_code, section.code, now.year),
        ack_no=ack_no(session, section.department_code, now.year), form=form,
        paper_location=paper if form == "physical" else None,
        from_receipt_id=fields.get("from_receipt_id"),
        section_id=section.id, sender=sender[:300], subject=subject[:500], mode=mode,
        category=fields.get("category"), letter_ref=fields.get("letter_ref"),
        letter_date=str(letter_date) if letter_date else None, language=language,
        grading=grading, received_at=now, diarised_by=actor.id, diarised_post_id=post.id,
        holder_post_id=post.id, holder_since=now, pdf_sha256=pdf_sha256,
        pdf_name=fields.get("pdf_name") if pdf_sha256 else None,
    )
    session.add(receipt)
    session.flush()
    return receipt
