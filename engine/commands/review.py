"""The weekly review (a mixin of Sanchika): one PDF per department Secretary and per
monitoring post, kept for the review page and e-mailed through the outbox with the PDF
attached. Sending is idempotent per week: a second trigger in the same week makes no
second e-mail (the outbox event key), though the PDF is made afresh."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from engine.commands.executor import CommandRunner
from engine.domain import org
from engine.errors import Forbidden, NotFound
from engine.notify import attachments
from engine.read import review, views
from engine.store.admin_models import WeeklyReview
from engine.store.models import OutboxMessage, User, utcnow

if TYPE_CHECKING:
    from engine.store.db import Database

WEEKS_SHOWN = 12


def _pages(pdf: bytes) -> int:
    import io

    # imported on first use, so that every process starts light (CLI, workers)
    from pypdf import PdfReader
    return len(PdfReader(io.BytesIO(pdf)).pages)


class ReviewServices(CommandRunner):
    db: Database

    def send_weekly_review(self, actor: User | None = None) -> dict[str, Any]:
        """Make this week's review for every recipient and queue its e-mails. `actor`
        None is the scheduler or the command line; a person must be an administrator."""
        if actor is not None:
            org.require_role(actor, "admin")
        now = utcnow()
        week = review.week_start(now)
        with self.db.reader() as s:
            made = [(r.post.id, review.render_pdf(review.build(s, r, now)))
                    for r in review.recipients(s)]
        emails = 0
        with self.command() as s:
            for post_id, pdf in made:
                row = s.scalar(select(WeeklyReview).where(WeeklyReview.week_start == week,
                                                          WeeklyReview.post_id == post_id))
                if row is None:
                    row = WeeklyReview(week_start=week, post_id=post_id)
                    s.add(row)
                row.pdf, row.made_at, row.pages = pdf, now, _pages(pdf)
                emails += self._mail_review(s, week, post_id, pdf)
            if actor is not None:
                from engine.commands.people import audit
                audit(s, actor, "weekly_review_sent", week.isoformat(),
                      {"reviews": len(made), "emails": emails})
        return {"week": week.isoformat(), "reviews": len(made), "emails_queued": emails}

    @staticmethod
    def _mail_review(s: Any, week: date, post_id: int, pdf: bytes) -> int:
        queued = 0
        post_code = views.Names(s).known_post(post_id)["code"]
        for user in org.holders_of(s, post_id):
            address = (user.email or "").strip()
            if not address:
                continue
            key = f"weekly-review:{week.isoformat()}:{post_id}:{user.id}:email"
            if s.scalar(select(OutboxMessage.id).where(OutboxMessage.event_key == key)):
                continue
            message = OutboxMessage(
                event_key=key, channel="email", user_id=user.id, recipient=address,
                subject=f"Weekly review / साप्ताहिक समीक्षा: week of {week.isoformat()}",
                body=(f"Dear {user.full_name},\n\nThe weekly review for {post_code}, week of "
                      f"{week.isoformat()}, is attached as a PDF: pendency, overdue items "
                      "with their holders, the slowest files, time at desk by level and "
                      "adoption.\n\nसाप्ताहिक समीक्षा संलग्न है।\n"),
                status="pending")
            s.add(message)
            attachments.attach(s, message, f"weekly-review-{week.isoformat()}-{post_code}.pdf",
                               "application/pdf", pdf)
            queued += 1
        return queued

    def weekly_reviews(self, actor: User) -> list[dict[str, Any]]:
        """The last 12 weeks' reviews the actor may read: all for an administrator or an
        auditor, else those of the posts they hold now."""
        with self.db.reader() as s:
            query = select(WeeklyReview.id, WeeklyReview.week_start, WeeklyReview.post_id,
                           WeeklyReview.made_at, WeeklyReview.pages) \
                .order_by(WeeklyReview.week_start.desc(), WeeklyReview.post_id)
            if actor.role not in ("admin", "auditor"):
                query = query.where(WeeklyReview.post_id.in_(org.acting_post_ids(s, actor)))
            weeks = sorted({r.week_start for r in s.execute(query)}, reverse=True)[:WEEKS_SHOWN]
            names = views.Names(s)
            return [{"id": r.id, "week": r.week_start.isoformat(), "post": names.post(r.post_id),
                     "made_at": views.iso(r.made_at), "pages": r.pages}
                    for r in s.execute(query) if r.week_start in weeks]

    def weekly_review_pdf(self, actor: User, review_id: int) -> tuple[bytes, str]:
        with self.db.reader() as s:
            row = s.get(WeeklyReview, review_id)
            if row is None:
                raise NotFound(f"no weekly review with id {review_id}")
            if actor.role not in ("admin", "auditor") and \
                    row.post_id not in org.acting_post_ids(s, actor):
                raise Forbidden("this review was made for a post you do not hold")
            code = views.Names(s).known_post(row.post_id)["code"]
            return row.pdf, f"weekly-review-{row.week_start.isoformat()}-{code}.pdf"
