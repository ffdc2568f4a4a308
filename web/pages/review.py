"""The weekly review page: the last 12 weeks' PDFs the reader may open, and the
administrator's button that makes and sends this week's review now."""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("review")


@bp.get("/reviews")
@login_required
def reviews() -> ResponseReturnValue:
    return render_template("reviews.html", rows=service().weekly_reviews(me()))


@bp.post("/reviews/send")
@login_required
def send() -> ResponseReturnValue:
    out = service().send_weekly_review(me())
    flash(_("Weekly review of the week of %(week)s: %(n)s PDFs made, %(m)s e-mails queued.",
            week=out["week"], n=out["reviews"], m=out["emails_queued"]), "ok")
    return redirect(url_for("review.reviews"))


@bp.get("/reviews/<int:review_id>.pdf")
@login_required
def pdf(review_id: int) -> ResponseReturnValue:
    data, name = service().weekly_review_pdf(me(), review_id)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name)
