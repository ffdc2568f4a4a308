"""My settings: language, the channels that notify me (in-app always; e-mail and SMS by
choice), a password change, which signs out every other session of mine, and my passkeys
(web/pages/passkeys.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.domain.passwords import MIN_LENGTH as MIN_PASSWORD
from engine.errors import InvalidInput
from web.pages.common import page_blueprint, service
from web.ui import SESSION_GENERATION, me

bp = page_blueprint("account")


def _page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    svc = service()
    return render_template("settings.html", s=svc.my_settings(me()), error=error,
                           min_length=MIN_PASSWORD, passkeys=svc.my_passkeys(me()),
                           passkey_required=svc.settings.passkey_approvals == "required"
                           ), status


@bp.get("/settings")
@login_required
def settings() -> ResponseReturnValue:
    return _page()


@bp.post("/settings")
@login_required
def save() -> ResponseReturnValue:
    form = request.form
    lang = form.get("language", "")
    service().save_settings(me(), lang, form.get("notify_email") == "1",
                            form.get("notify_sms") == "1")
    session["lang"] = lang
    flash(_("Settings saved."))
    return redirect(url_for("account.settings"))


@bp.post("/settings/password")
@login_required
def password() -> ResponseReturnValue:
    form = request.form
    try:
        generation = service().change_password(
            me(), form.get("current_password", ""), form.get("new_password", ""),
            repeat=form.get("repeat_password", ""), keep_sign_in_id=session.get("sign_in_id"))
    except InvalidInput as exc:
        return _page(_password_error(exc.message), 422)
    session[SESSION_GENERATION] = generation  # this session stays signed in
    flash(_("Password changed. Every other session of yours has been signed out."))
    return redirect(url_for("account.settings"))


def _password_error(message: str) -> str:
    """The engine's reason, in the reader's language."""
    field = message.split(":", 1)[0]
    if field in ("current_password", "old_password"):
        return _("The current password is wrong.")
    if field == "repeat_password":
        return _("The two new passwords differ.")
    if "few different" in message:
        return _("The new password repeats too few different characters.")
    if "different" in message or "same as" in message:
        return _("Choose a password different from the current one.")
    if "username" in message:
        return _("The new password must not contain your username.")
    if "commonly used" in message:
        return _("This password is among the most commonly used; choose another.")
    return _("The new password needs at least %(n)s characters.", n=MIN_PASSWORD)
