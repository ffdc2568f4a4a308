"""The dashboard: my pendency, my section's, overdue counts, files created per
department per month (drawn by Chart.js from the numbers embedded in the page)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("dashboard")


@bp.get("/dashboard")
@login_required
def dashboard() -> ResponseReturnValue:
    return render_template("dashboard.html", d=service().dashboard(me()))
