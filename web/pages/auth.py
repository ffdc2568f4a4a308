"""Sign-in and sign-off (recorded, with lockout after repeated failures, which the user
can lift with a code sent to them), the language switch, and the sign-in register for
administrators and auditors."""

from __future__ import annotations

import re
import time

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from engine.commands.ui import UI_LANGUAGES, TooManyAttempts
from engine.errors import InvalidInput, Unauthorized
from web.pages.common import back, page_blueprint, service
from web.ui import SESSION_GENERATION, WebUser, me

bp = page_blueprint("auth")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("desk.inbox"))
    error, status, retry_after = None, 200, None
    if request.method == "POST":
        try:
            user, sign_in_id = service().sign_in(
                request.form.get("username", ""), request.form.get("password", ""),
                request.remote_addr, request.headers.get("User-Agent"))
        except TooManyAttempts as exc:
            error, status = _("Too many failed sign-ins. %(detail)s",
                              detail=_held_back(exc.message)), 429
            retry_after = exc.retry_after
        except Unauthorized:
            error, status = _("Wrong username or password."), 401
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session: no fixation across the sign-in
            login_user(WebUser(user))
            session.permanent = True  # so the idle timeout applies (web/ui.py)
            session["sign_in_id"] = sign_in_id
            session[SESSION_GENERATION] = user.session_generation or 0
            session["started"] = int(time.time())
            session["lang"] = user.language if user.language in UI_LANGUAGES else lang
            return redirect(_safe_next(request.args.get("next")))
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return render_template("login.html", error=error, locked=status == 429), status, headers


@bp.route("/login/unlock", methods=["GET", "POST"])
def unlock() -> ResponseReturnValue:
    """Lift the sign-in lock on one's own username with a code sent to one's own e-mail
    or phone (engine/commands/unlock.py): the code is never shown here."""
    form = request.form
    username = (form.get("username") or request.args.get("username") or "").strip()[:64]
    error, status = None, 200
    if request.method == "POST":
        try:
            if form.get("action") == "send":
                service().request_unlock_code(username, request.remote_addr)
                flash(_("If this username is locked from your address and has an e-mail "
                        "address or mobile number, an unlock code has been sent to it. It "
                        "works once, for 15 minutes."))
            else:
                service().redeem_unlock_code(username, form.get("code", ""),
                                             request.remote_addr)
                flash(_("The lock is lifted. Sign in with your password."))
                return redirect(url_for("auth.login"))
        except InvalidInput as exc:
            field = exc.message.split(":", 1)[0]
            error = _("Enter your username.") if field == "username" else \
                _("Enter the unlock code sent to you.")
            status = 422
        except Unauthorized:
            error, status = _("That unlock code is wrong, expired or already used."), 401
    return render_template("sign_in_unlock.html", error=error, username=username), status


def _held_back(message: str) -> str:
    """The engine's "try again after HH:MM:SS UTC", in the reader's language."""
    until = re.search(r"after (\d\d:\d\d:\d\d) UTC", message)
    if until is None:
        return message
    return _("Signing in with this name from your address is held back until %(time)s UTC.",
             time=until.group(1))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no '//host')."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("desk.inbox")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    service().sign_out(session.get("sign_in_id"))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    lang = request.form.get("lang", "")
    if lang in UI_LANGUAGES:
        session["lang"] = lang
        if current_user.is_authenticated:
            service().set_language(me(), lang)
    return redirect(back() if current_user.is_authenticated else url_for("auth.login"))


@bp.get("/admin/sign-ins")
@login_required
def sign_ins() -> ResponseReturnValue:
    rows = service().sign_ins(me())
    if not rows:
        flash(_("No sign-ins recorded yet."))
    return render_template("sign_ins.html", rows=rows)
