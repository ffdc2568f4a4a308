"""E-mail dak pages: the diarist's mails taken from the office mailboxes, each confirmed
into a receipt (pre-filled, editable fields) or rejected with a remark; administrators
also see how each mailbox's last poll went."""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.commands.email_dak import EDITABLE, STATUSES
from engine.domain.receipts import GRADINGS, LANGUAGES
from engine.errors import InvalidInput
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("email_dak")


@bp.get("/dak/email")
@login_required
def email_list() -> ResponseReturnValue:
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        status = "pending"
    svc, user = service(), me()
    boxes = svc.mailbox_status(user) if user.role == "admin" else []
    return render_template("email_list.html", rows=svc.email_receipts(user, status),
                           status=status, statuses=STATUSES, boxes=boxes)


@bp.get("/dak/email/<int:email_id>")
@login_required
def email_receipt(email_id: int) -> ResponseReturnValue:
    mail = service().email_receipt(me(), email_id)
    return render_template("email_receipt.html", m=mail, form=mail["prefill"],
                           languages=LANGUAGES, gradings=GRADINGS)


@bp.post("/dak/email/<int:email_id>/confirm")
@login_required
def confirm(email_id: int) -> ResponseReturnValue:
    fields = {k: request.form.get(k, "").strip() for k in EDITABLE}
    scan = request.form.get("scan", "")
    try:
        view = service().confirm_email(me(), email_id, fields,
                                       int(scan) if scan.isdigit() else None)
    except InvalidInput as exc:
        mail = service().email_receipt(me(), email_id)
        return render_template("email_receipt.html", m=mail, form=fields, error=exc.message,
                               languages=LANGUAGES, gradings=GRADINGS), 422
    flash(_("Diarised as %(no)s.", no=view["diary_no"]))
    return redirect(url_for("desk.receipt", receipt_id=view["id"]))


@bp.post("/dak/email/<int:email_id>/reject")
@login_required
def reject(email_id: int) -> ResponseReturnValue:
    remark = request.form.get("remark", "").strip()
    if not remark:
        flash(_("Say why the mail is not diarised."), "error")
        return redirect(url_for("email_dak.email_receipt", email_id=email_id))
    service().reject_email(me(), email_id, remark)
    flash(_("The mail was not diarised."))
    return redirect(url_for("email_dak.email_list"))


@bp.get("/dak/email/<int:email_id>/eml")
@login_required
def eml(email_id: int) -> ResponseReturnValue:
    data, name, mime = service().email_file(me(), email_id, None)
    return send_file(io.BytesIO(data), mimetype=mime, download_name=name, as_attachment=True)


@bp.get("/dak/email/<int:email_id>/attachments/<int:position>")
@login_required
def attachment(email_id: int, position: int) -> ResponseReturnValue:
    data, name, mime = service().email_file(me(), email_id, position)
    return send_file(io.BytesIO(data), mimetype=mime, download_name=name,
                     as_attachment=mime != "application/pdf", max_age=0)
