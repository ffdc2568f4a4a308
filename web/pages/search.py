"""Search: files and receipts by number, subject, sender or note text, in Hindi or
English, limited to what the user may read (Sanchika.search)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from engine.commands.access import SEARCH_KINDS
from engine.errors import InvalidInput
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("search")


@bp.get("/search")
@login_required
def search() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    kind = request.args.get("kind") or None
    if kind not in (None, *SEARCH_KINDS):
        kind = None
    results, error = None, None
    if q:
        try:
            results = service().search(me(), q, kind)
        except InvalidInput as exc:
            error = exc.message
    return render_template("search.html", q=q, kind=kind, results=results, error=error)
