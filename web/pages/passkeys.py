"""Passkeys on the pages: the JSON the browser's WebAuthn calls need (web/static/passkey.js)
and revoking one from My settings. The approvals themselves are the ordinary approve forms
(desk.act, work.approve_draft) carrying the assertion in a hidden field; the engine
verifies it inside the approve command."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import InvalidInput, SanchikaError
from web.pages.common import page_blueprint, service
from web.passkey_text import passkey_message
from web.ui import me

bp = page_blueprint("passkeys")

MAX_ASSERTION = 20_000  # characters of JSON: an assertion is well under 2,000


def page_origin() -> str:
    """The origin the browser used (behind trusted proxies, as they report it): the
    relying party the passkey belongs to, and the origin its signature names."""
    return request.host_url.rstrip("/")


def assertion_from_form() -> dict[str, Any] | None:
    """The passkey assertion an approve form carries (hidden field `passkey`), with the
    origin this server saw; None when the form has none."""
    raw = request.form.get("passkey", "").strip()
    if not raw:
        return None
    if len(raw) > MAX_ASSERTION:
        raise InvalidInput("passkey: the assertion is too long")
    try:
        value = json.loads(raw)
    except ValueError:
        raise InvalidInput("passkey: not JSON") from None
    if not isinstance(value, dict):
        raise InvalidInput("passkey: send the nonce and the browser's credential")
    return {"nonce": value.get("nonce"), "credential": value.get("credential"),
            "origin": page_origin()}


def _json(make: Any) -> ResponseReturnValue:
    try:
        return jsonify(make())
    except SanchikaError as exc:
        return jsonify({"error": {"message": passkey_message(exc.message)}}), exc.status


@bp.post("/settings/passkeys/options")
@login_required
def registration_options() -> ResponseReturnValue:
    return _json(lambda: service().passkey_registration_options(me(), page_origin()))


@bp.post("/settings/passkeys")
@login_required
def register() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": {"message": _("The browser sent no passkey. Try again.")}}), 422
    return _json(lambda: service().register_passkey(
        me(), body.get("credential"), body.get("nonce"), page_origin(),
        str(body.get("name") or "")))


@bp.post("/settings/passkeys/<int:passkey_id>/revoke")
@login_required
def revoke(passkey_id: int) -> ResponseReturnValue:
    key = service().revoke_passkey(me(), passkey_id)
    flash(_("Passkey “%(name)s” revoked. Approvals made with it from now on will not verify.",
            name=key["name"]))
    return redirect(url_for("account.settings"))


@bp.post("/tasks/<int:task_id>/passkey-options")
@login_required
def task_options(task_id: int) -> ResponseReturnValue:
    return _json(lambda: service().task_approval_options(me(), task_id, page_origin()))


@bp.post("/drafts/<int:draft_id>/passkey-options")
@login_required
def draft_options(draft_id: int) -> ResponseReturnValue:
    return _json(lambda: service().draft_approval_options(me(), draft_id, page_origin()))
