"""The officer's desk: inbox, file view (note sheet | correspondence), notes, actions with
confirmation, receipt diarisation with its scanned PDF, notifications, finding files."""

from __future__ import annotations

import io
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.domain.receipts import FORMS, GRADINGS, LANGUAGES, MODES
from engine.errors import InvalidInput
from engine.sla.policy import PRIORITIES
from web.pages.common import back, page_blueprint, service
from web.ui import me

bp = page_blueprint("desk")

# The fields of an action form that are passed to the service (Sanchika.act).
ACTION_FIELDS = ("action", "to", "note", "remark", "reason", "record_category", "file_id",
                 "subject", "head", "priority")


@bp.get("/")
@login_required
def inbox():  # type: ignore[no-untyped-def]
    return render_template("inbox.html", tasks=service().inbox_rows(me()))


@bp.get("/notifications")
@login_required
def notifications():  # type: ignore[no-untyped-def]
    return render_template("notifications.html", messages=service().notifications(me()))


# ------------------------------------------------------------------ files


@bp.get("/files")
@login_required
def files():  # type: ignore[no-untyped-def]
    q = request.args.get("q", "").strip()
    file_no = request.args.get("file_no", "").strip()
    rows = service().find_files(me(), file_no=file_no or None, q=q or None)
    return render_template("files.html", rows=rows, q=q, file_no=file_no)


@bp.get("/files/<int:file_id>")
@login_required
def file(file_id: int):  # type: ignore[no-untyped-def]
    svc, user = service(), me()
    svc.record_opened(user, file_id)
    view = svc.file(user, file_id)
    pdfs = svc.receipts_with_pdf([c["id"] for c in view["correspondence"]])
    mine = _my_tasks(view)
    refs = {c["correspondence_id"]: c for c in view["correspondence"]}
    return render_template("file.html", f=view, tasks=mine, pdfs=pdfs, refs=refs,
                           posts=svc.posts(user) if mine else [],
                           can_note=bool(mine) and not view["locked"])


@bp.post("/files/<int:file_id>/notes")
@login_required
def add_note(file_id: int):  # type: ignore[no-untyped-def]
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
def draft_note(note_id: int):  # type: ignore[no-untyped-def]
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
def document(sha256: str):  # type: ignore[no-untyped-def]
    """A stored PDF (scanned note sheets, letters) for those who may read its file."""
    data, name = service().document(me(), sha256)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                     as_attachment=False, max_age=0)


# ------------------------------------------------------------------ sent items


@bp.get("/sent")
@login_required
def sent():  # type: ignore[no-untyped-def]
    return render_template("sent.html", items=service().sent_items(me()))


@bp.post("/files/<int:file_id>/pullback")
@login_required
def pullback(file_id: int):  # type: ignore[no-untyped-def]
    if request.form.get("confirmed") != "1":
        return render_template("confirm.html", form=request.form,
                               action_url=url_for("desk.pullback", file_id=file_id),
                               question=_("Pull this file back?"))
    result = service().pullback(me(), file_id)
    flash(_("%(no)s pulled back; it is with you again.", no=result["file_no"]))
    return redirect(url_for("desk.file", file_id=file_id))


@bp.post("/files/new")
@login_required
def new_file():  # type: ignore[no-untyped-def]
    form = request.form
    view = service().open_file(me(), form.get("subject", "").strip(),
                               form.get("head", "").strip(), form.get("priority") or None)
    flash(_("File %(no)s opened.", no=view["file_no"]))
    return redirect(url_for("desk.file", file_id=view["id"]))


@bp.get("/files/new")
@login_required
def new_file_form():  # type: ignore[no-untyped-def]
    return render_template("file_new.html", priorities=PRIORITIES, heads=_heads())


def _heads() -> list[dict[str, Any]]:
    """Active subject heads of my department (a new file's number carries one)."""
    return [h for h in service().subject_heads(me()) if h.get("active", True)]


def _my_tasks(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The item's open tasks, when it is with a post I act for (own or additional charge)."""
    holder = view.get("holder")
    if holder is None or holder["id"] not in service().acting_post_id_list(me()):
        return []
    return view["tasks"]


# ------------------------------------------------------------------ actions


@bp.post("/tasks/<int:task_id>")
@login_required
def act(task_id: int):  # type: ignore[no-untyped-def]
    """One-click actions. Without `confirmed` (no JavaScript) the server asks first."""
    body: dict[str, Any] = {k: request.form[k].strip() for k in ACTION_FIELDS
                            if request.form.get(k, "").strip()}
    if request.form.get("confirmed") != "1":
        return render_template("confirm.html", form=request.form,
                               action_url=url_for("desk.act", task_id=task_id))
    if body.get("action") == "put_in_file" and body.get("file_id"):
        body.pop("subject", None)
        body.pop("head", None)
    result = service().act(me(), task_id, body)
    flash(_("Done: %(action)s.", action=_action_label(result["action"])))
    return redirect(back())


def _action_label(action: str) -> str:
    return {
        "forward": _("forwarded"), "return": _("returned"), "submit": _("submitted"),
        "approve": _("approved"), "reject": _("rejected"), "close": _("closed"),
        "put_in_file": _("put up in a file"),
    }.get(action, action)


# ------------------------------------------------------------------ receipts


@bp.route("/receipts/new", methods=["GET", "POST"])
@login_required
def diarise():  # type: ignore[no-untyped-def]
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
def receipt(receipt_id: int):  # type: ignore[no-untyped-def]
    svc, user = service(), me()
    view = svc.receipt(user, receipt_id)
    mine = _my_tasks(view)
    open_files = [f for f in svc.find_files(user) if f["status"] == "open" and not f["locked"]] \
        if mine else []
    return render_template("receipt.html", r=view, tasks=mine, open_files=open_files,
                           posts=svc.posts(user) if mine else [], priorities=PRIORITIES,
                           heads=_heads() if mine else [])


@bp.get("/receipts/<int:receipt_id>/pdf")
@login_required
def receipt_pdf(receipt_id: int):  # type: ignore[no-untyped-def]
    data, name = service().receipt_pdf(me(), receipt_id)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                     as_attachment=False, max_age=0)


__all__ = ["bp", "back"]
