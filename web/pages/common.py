"""What every page blueprint shares: domain errors become an HTML page with their status,
and form posts report errors back on the page they came from."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.app import Sanchika
from engine.errors import SanchikaError
from web.passkey_text import passkey_message


def service() -> Sanchika:
    return current_app.extensions["sanchika"]


def page_blueprint(name: str) -> Blueprint:
    bp = Blueprint(name, __name__)

    @bp.errorhandler(SanchikaError)
    def _domain(exc: SanchikaError) -> ResponseReturnValue:
        if request.method == "POST" and exc.status in (409, 422):
            message = exc.message
            if message.startswith("passkey"):  # the officer's own device: say what to do
                message = passkey_message(message)
            flash(message, "error")
            return redirect(back())
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    return bp


def back() -> str:
    """Where a form post returns to: its own page (same origin only)."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("desk.inbox")
