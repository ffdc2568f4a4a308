"""Other installations: sending a file to a partner installation's post, the packages
sent and their delivery, and (administrators) this installation's key and its partners."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import InvalidInput
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("exchange")


@bp.get("/exchange")
@login_required
def exchange() -> ResponseReturnValue:
    svc, user = service(), me()
    mine = [f for f in svc.find_files(user) if f["status"] == "open"] if user.post_id else []
    return render_template(
        "exchange.html", partners=svc.partners(user), outbox=svc.exchange_outbox(user),
        files=mine, identity=svc.installation() if user.role == "admin" else None,
        form=request.args)


@bp.post("/exchange/send")
@login_required
def send() -> ResponseReturnValue:
    form = request.form
    file_id = form.get("file_id", "")
    if not file_id.isdigit():
        raise InvalidInput(_("Choose the file to send."))
    row = service().send_file_to_partner(me(), int(file_id), form.get("partner", ""),
                                         form.get("post", "").strip(),
                                         form.get("remark", "").strip() or None)
    flash(_("File %(no)s is on its way to %(partner)s.", no=row["number"],
            partner=row["partner"]))
    return redirect(url_for("exchange.exchange"))


@bp.post("/exchange/partners")
@login_required
def register() -> ResponseReturnValue:
    form = request.form
    row = service().register_partner(me(), form.get("name", ""), form.get("url", ""),
                                     form.get("public_key", "").strip())
    flash(_("%(name)s is registered as a partner.", name=row["name"]))
    return redirect(url_for("exchange.exchange"))
