"""The officer's desk: inbox, file view (note sheet | correspondence), notes, actions with
confirmation, receipt diarisation with its scanned PDF, notifications, finding files."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import login_required

from engine.domain.dispatch import MODES as DISPATCH_MODES
from engine.domain.receipts import FORMS, GRADINGS, LANGUAGES, MODES
from engine.errors import InvalidInput
from engine.sla.policy import PRIORITIES
from engine.store.models import utcnow
from web.pages import lists, messages_after
from web.pages.common import back, page_blueprint, service
from web.pages.passkeys import assertion_from_form
from web.ui import me

bp = page_blueprint("desk")

# The fields of an action form that are passed to the service (Sanchika.act).
ACTION_FIELDS = ("action", "to", "note", "remark", "reason", "record_category", "file_id",
                 "subject", "head", "priority")


@bp.get("/")
@login_required
def inbox() -> ResponseReturnValue:
    """Files and receipts like eOffice: tabs, views, sort, filters, 50 rows a page."""
    query = lists.query_from(request.args)
    svc, user = service(), me()
    listing = svc.desk_list(user, query)
    bulk = query.view == "inbox" and listing["rows"]
    return render_template(
        "inbox.html", q=query, listing=listing, args=lists.kept_args(request.args),
        priorities=PRIORITIES, directory=svc.post_directory(user) if bulk else [],
        open_files=_open_files() if bulk and query.tab == "receipt" else [],
        heads=_heads() if bulk and query.tab == "receipt" else [])


@bp.post("/inbox/send")
@login_required
def send_many() -> ResponseReturnValue:
    """The chosen items forwarded, or the chosen receipts put up in one file: each item
    its own transaction; a refused item is named and the rest go through."""
    form, svc, user = request.form, service(), me()
    ids = [int(t) for t in form.getlist("task_id") if t.isdigit()]
    if not ids:
        raise InvalidInput(_("Choose at least one item."))
    if form.get("op") == "put_in_file":
        file_id = form.get("file_id", "")
        out = svc.file_receipts(user, ids, int(file_id) if file_id.isdigit() else None,
                                form.get("subject", "").strip() or None,
                                form.get("head", "").strip() or None)
    else:
        if not form.get("to"):
            raise InvalidInput(_("Choose the post to send to."))
        body = {"action": "forward", "to": form["to"]}
        body.update({k: form[k].strip() for k in ("remark", "reason") if form.get(k, "").strip()})
        out = svc.act_many(user, ids, body, form.get("due") or None,
                           form.get("priority") or None)
    for line, category in messages_after.batch(out):
        flash(line, category)
    return redirect(back())


@bp.app_template_global()
def inbox_url(args: dict[str, Any], changes: dict[str, Any]) -> str:
    merged = {k: v for k, v in {**args, **changes}.items() if v not in ("", None)}
    return url_for("desk.inbox", **merged)


@bp.app_template_global()
def age(since: Any) -> str:
    """How long an item has waited, in words."""
    if since is None:
        return "—"
    if isinstance(since, str):
        since = datetime.fromisoformat(since)
    seconds = max(0, int((utcnow() - since).total_seconds()))
    if seconds >= 86400:
        return ngettext("%(num)s day", "%(num)s days", seconds // 86400)
    if seconds >= 3600:
        return ngettext("%(num)s hour", "%(num)s hours", seconds // 3600)
    return ngettext("%(num)s minute", "%(num)s minutes", max(1, seconds // 60))


@bp.get("/notifications")
@login_required
def notifications() -> ResponseReturnValue:
    """Newest first, each in today's language and linked to its item; opening the page
    marks them seen (the header count goes to zero)."""
    svc, user = service(), me()
    listing = svc.notification_list(user, str(get_locale() or "en"))
    if listing["messages"]:
        svc.mark_notifications_seen(user, listing["messages"][0]["id"])
    return render_template("notifications.html", messages=listing["messages"])


# ------------------------------------------------------------------ files


@bp.get("/files")
@login_required
def files() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    file_no = request.args.get("file_no", "").strip()
    rows = service().find_files(me(), file_no=file_no or None, q=q or None)
    return render_template("files.html", rows=rows, q=q, file_no=file_no)


@bp.get("/files/<int:file_id>")
@login_required
def file(file_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    view = svc.opened_file(user, file_id)
    svc.mark_read(user, "file", file_id)
    desk = svc.file_desk(user, file_id)
    pdfs = svc.receipts_with_pdf([c["id"] for c in view["correspondence"]])
    mine = svc.my_tasks(user, "file", file_id)
    refs = {c["correspondence_id"]: c for c in view["correspondence"]}
    grants = svc.grants(user, file_id=file_id) if desk["can_grant"] else []
    return render_template(
        "file.html", f=view, d=desk, tasks=mine, pdfs=pdfs, refs=refs,
        directory=svc.post_directory(user) if mine or desk["can_request_reopen"] else [],
        priorities=PRIORITIES, dispatch_modes=DISPATCH_MODES, grants=grants,
        people=svc.user_directory(user) if desk["can_grant"] else [],
        can_note=desk["holder_is_me"] and bool(mine) and not view["locked"],
        marks_after=_marks_by_para(desk["marks"]))


def _marks_by_para(marks: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for mark in marks:
        out.setdefault(mark["after_para"], []).append(mark)
    return out


@bp.post("/files/<int:file_id>/notes")
@login_required
def add_note(file_id: int) -> ResponseReturnValue:
    """A new yellow (draft) note: private and editable until its author confirms it."""
    text = request.form.get("text", "").strip()
    if not text:
        raise InvalidInput(_("Write the note first."))
    ref = request.form.get("ref_correspondence_id", "")
    note = service().add_draft_note(me(), file_id, text, int(ref) if ref.isdigit() else None)
    flash(_("Draft note saved. It stays yellow (private, editable) until you confirm it."))
    return redirect(url_for("desk.file", file_id=file_id) + f"#draft-{note['id']}")


@bp.post("/notes/<int:note_id>")
@login_required
def draft_note(note_id: int) -> ResponseReturnValue:
    """Save, confirm (into the next green paragraph) or delete one of my yellow notes."""
    svc, user, op = service(), me(), request.form.get("op", "")
    file_id = int(request.form.get("file_id", "0") or 0)
    target = url_for("desk.file", file_id=file_id) if file_id else back()
    if op == "save":
        svc.edit_draft_note(user, note_id, request.form.get("text", ""))
        flash(_("Draft note saved."))
        return redirect(target + f"#draft-{note_id}")
    if op == "confirm":
        green = svc.confirm_note(user, note_id)
        flash(_("Note paragraph %(n)s added.", n=green["para_no"]))
        return redirect(url_for("desk.file", file_id=green["file_id"])
                        + f"#para-{green['para_no']}")
    if op == "delete":
        svc.delete_draft_note(user, note_id)
        flash(_("Draft note deleted."))
        return redirect(target)
    raise InvalidInput("op: save, confirm or delete")


@bp.get("/documents/<sha256>")
@login_required
def document(sha256: str) -> ResponseReturnValue:
    """A stored PDF (scanned note sheets, letters) for those who may read its file."""
    data, name = service().document(me(), sha256)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                     as_attachment=False, max_age=0)


# ------------------------------------------------------------------ sent items


@bp.get("/sent")
@login_required
def sent() -> ResponseReturnValue:
    return render_template("sent.html", items=service().sent_items(me()))


@bp.post("/files/<int:file_id>/pullback")
@login_required
def pullback(file_id: int) -> ResponseReturnValue:
    if request.form.get("confirmed") != "1":
        return render_template("confirm.html", form=request.form,
                               action_url=url_for("desk.pullback", file_id=file_id),
                               question=_("Pull this file back?"))
    result = service().pullback(me(), file_id)
    flash(_("%(no)s pulled back; it is with you again.", no=result["file_no"]))
    return redirect(url_for("desk.file", file_id=file_id))


@bp.post("/files/new")
@login_required
def new_file() -> ResponseReturnValue:
    form = request.form
    view = service().open_file(me(), form.get("subject", "").strip(),
                               form.get("head", "").strip(), form.get("priority") or None)
    flash(_("File %(no)s opened.", no=view["file_no"]))
    return redirect(url_for("desk.file", file_id=view["id"]))


@bp.get("/files/new")
@login_required
def new_file_form() -> ResponseReturnValue:
    return render_template("file_new.html", priorities=PRIORITIES, heads=_heads())


def _heads() -> list[dict[str, Any]]:
    """Active subject heads of my department (a new file's number carries one)."""
    return [h for h in service().subject_heads(me()) if h.get("active", True)]


def _open_files() -> list[dict[str, Any]]:
    return [f for f in service().find_files(me()) if f["status"] == "open" and not f["locked"]]


# ------------------------------------------------------------------ actions


@bp.post("/tasks/<int:task_id>")
@login_required
def act(task_id: int) -> ResponseReturnValue:
    """One-click actions. Without `confirmed` (no JavaScript) the server asks first."""
    body: dict[str, Any] = {k: request.form[k].strip() for k in ACTION_FIELDS
                            if request.form.get(k, "").strip()}
    if request.form.get("confirmed") != "1":
        return render_template("confirm.html", form=request.form,
                               action_url=url_for("desk.act", task_id=task_id))
    if body.get("action") == "put_in_file" and body.get("file_id"):
        body.pop("subject", None)
        body.pop("head", None)
    copies = [c for c in request.form.getlist("copies") if c.strip()]
    if copies:
        body["copies"] = copies
    body.pop("priority", None)  # the movement's priority: the sender's choice below
    assertion = assertion_from_form()
    if assertion is not None:
        body["passkey"] = assertion
    result = service().act_with(me(), task_id, body, request.form.get("due") or None,
                                request.form.get("priority") or None)
    flash(messages_after.done(result))
    return redirect(back())


def _action_label(action: str) -> str:
    return messages_after.action_word(action)


# ------------------------------------------------------------------ receipts


@bp.route("/receipts/new", methods=["GET", "POST"])
@login_required
def diarise() -> ResponseReturnValue:
    choices = {"modes": MODES, "languages": LANGUAGES, "gradings": GRADINGS, "forms": FORMS}
    if request.method == "GET":
        return render_template("receipt_new.html", form={}, **choices)
    form = request.form
    fields = {k: form.get(k, "").strip() or None for k in (
        "sender", "subject", "mode", "category", "letter_ref", "letter_date", "language",
        "grading", "form", "paper_location")}
    missing = [label for key, label in (("sender", _("Sender")), ("subject", _("Subject")))
               if not fields[key]]
    upload = request.files.get("pdf")
    pdf = upload.read() if upload is not None and upload.filename else None
    error = _("Required: %(fields)s", fields=", ".join(missing)) if missing else None
    if error is None:
        try:
            view = service().diarise(
                me(), {k: v for k, v in fields.items() if v is not None}, pdf,
                upload.filename if pdf is not None and upload is not None else None)
        except InvalidInput as exc:
            error = exc.message
        else:
            flash(_("Diarised as %(no)s.", no=view["diary_no"]))
            return redirect(url_for("desk.receipt", receipt_id=view["id"]))
    return render_template("receipt_new.html", form=form, error=error, **choices), 422


@bp.get("/receipts/<int:receipt_id>")
@login_required
def receipt(receipt_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    view = svc.receipt(user, receipt_id)
    svc.mark_read(user, "receipt", receipt_id)
    mine = svc.my_tasks(user, "receipt", receipt_id)
    return render_template("receipt.html", r=view, tasks=mine,
                           open_files=_open_files() if mine else [],
                           directory=svc.post_directory(user) if mine else [],
                           priorities=PRIORITIES, heads=_heads() if mine else [])


@bp.get("/receipts/<int:receipt_id>/pdf")
@login_required
def receipt_pdf(receipt_id: int) -> ResponseReturnValue:
    data, name = service().receipt_pdf(me(), receipt_id)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                     as_attachment=False, max_age=0)


__all__ = ["back", "bp"]
