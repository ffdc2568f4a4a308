"""Tracking: where a file or receipt has been (movement timeline) and where its process
stands (the BPMN diagram with the current step highlighted); any file's history in plain
words, a page at a time (replay, verification and export: web/pages/audit.py)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from web.history_text import sentence
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("track")


@bp.get("/<any(files,receipts):kind>/<int:subject_id>/track")
@login_required
def track(kind: str, subject_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    if kind == "files":
        item = svc.opened_file(user, subject_id)
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
    item = svc.opened_file(user, file_id)
    raw = request.args.get("page", "1")
    page = svc.history_page(user, file_id, int(raw) if raw.isdigit() else 1)
    for event in page["events"]:
        event["sentence"] = sentence(event)
    return render_template("history.html", item=item, page=page)
