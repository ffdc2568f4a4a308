"""Tracking: where a file or receipt has been (movement timeline) and where its process
stands (the BPMN diagram with the current step highlighted); any file's history."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from web.pages.common import page_blueprint, service
from web.ui import me

HISTORY_PAGE = 200  # events on one page of a file's history
bp = page_blueprint("track")


@bp.get("/<any(files,receipts):kind>/<int:subject_id>/track")
@login_required
def track(kind: str, subject_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    if kind == "files":
        svc.record_opened(user, subject_id)
        item = svc.file(user, subject_id)
        movements = svc.track(user, subject_id)["movements"]
        number = item["file_no"]
    else:
        item = svc.receipt(user, subject_id)
        movements = item["movements"]
        number = item["diary_no"]
    diagram = svc.diagram(user, kind[:-1], subject_id)
    return render_template("track.html", kind=kind, item=item, number=number,
                           movements=movements, diagram=diagram)


@bp.get("/files/<int:file_id>/history")
@login_required
def history(file_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    svc.record_opened(user, file_id)
    item = svc.file(user, file_id)
    # a long file's history a page at a time; one row more tells whether a next page exists
    page = max(1, request.args.get("page", 1, type=int) or 1)
    events = svc.file_history(user, file_id, limit=HISTORY_PAGE + 1,
                              offset=(page - 1) * HISTORY_PAGE)
    return render_template("history.html", item=item, events=events[:HISTORY_PAGE],
                           page=page, more=len(events) > HISTORY_PAGE)
