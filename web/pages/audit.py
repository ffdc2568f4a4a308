"""The auditor's room: a file's history in plain words (web/pages/track.py `history`),
replay at any event on the diagram of the version that ran, verification of one file or
the whole installation, and the verifiable export. Who may see what is decided in the
engine (engine/commands/audit.py): the file's readers for one file, auditors and
administrators for the installation."""

from __future__ import annotations

import re

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import InvalidInput, NotFound
from web.history_text import sentence, step_label
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("auditroom")


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name}: must be a whole number, not '{raw[:40]}'")
    return int(raw)


@bp.get("/files/<int:file_id>/replay")
@login_required
def replay(file_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    item = svc.file(user, file_id)
    try:
        view = svc.replay_on_diagram(user, file_id, _int_arg("instance"), _int_arg("at"))
    except (InvalidInput, NotFound) as exc:
        if not exc.message.startswith(("at:", "instance:")):
            raise
        # a mistyped event or process number: back to the file's last event, saying why
        last = re.search(r"from 1 to (\d+)", exc.message)
        if last:
            flash(_("There is no event %(at)s: this process has events 1 to %(n)s.",
                    at=request.args.get("at", "")[:12], n=last.group(1)), "error")
        elif exc.message.startswith("at:"):
            flash(_("The event number must be a whole number."), "error")
        else:
            flash(_("This file went through no such process; showing its last one."),
                  "error")
        return redirect(url_for("auditroom.replay", file_id=file_id))
    names = view["step_names"]
    at = view["at"]
    event = svc.history_event(user, file_id, view["instance_id"], at["seq"])
    diagram = {"xml": view["diagram"]["xml"], "active": view["active_steps"],
               "done": view["done_steps"], "event": [at["step"]] if at["step"] else []}
    return render_template(
        "replay.html", item=item, view=view, diagram=diagram, event=event,
        event_sentence=sentence(event), step_name=lambda spec: step_label(names.get(spec, spec)))


@bp.get("/files/<int:file_id>/verify")
@login_required
def verify_file(file_id: int) -> ResponseReturnValue:
    svc, user = service(), me()
    item = svc.file(user, file_id)
    return render_template("verify.html", item=item, report=svc.verify_file(user, file_id))


@bp.get("/audit/verify")
@login_required
def verify_installation() -> ResponseReturnValue:
    """The form; with ?run=1 the check runs now, in this request (see docs/audit.md)."""
    svc, user = service(), me()
    report = svc.verify_installation(user, reexecute=request.args.get("reexecute") == "1",
                                     run=bool(request.args.get("run")))
    return render_template("verify.html", item=None, report=report)


@bp.get("/files/<int:file_id>/export")
@login_required
def export(file_id: int) -> ResponseReturnValue:
    """The self-contained, verifiable zip of the file (`sanchika verify --export` checks
    it)."""
    file_no, data = service().export_file(me(), file_id)
    name = file_no.replace("/", "-") + ".zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
