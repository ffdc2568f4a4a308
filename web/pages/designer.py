"""The designer's board: deployed processes and versions with running-instance counts,
the bpmn-js modeler, validation with errors shown on their elements, deployment; and the
versions under control: make a version current (rollback), suspend or resume it, migrate
running files between versions (a dry run first)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import InvalidBpmn, InvalidInput, SanchikaError
from web.history_text import process_label
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("designer")


@bp.get("/designer")
@login_required
def definitions() -> ResponseReturnValue:
    rows = service().definitions_overview(me())
    processes: dict[str, list[dict]] = {}
    for row in rows:
        processes.setdefault(row["process_id"], []).append(row)
    return render_template("designer.html", processes=processes,
                           can_deploy=service().may_deploy(me()))


@bp.get("/designer/<process_id>/<int:version>")
@login_required
def modeler(process_id: str, version: int) -> ResponseReturnValue:
    xml = service().definition_xml(me(), process_id, version)
    return render_template("modeler.html", process_id=process_id, version=version, xml=xml,
                           can_deploy=service().may_deploy(me()))


@bp.post("/designer/validate")
@login_required
def validate() -> ResponseReturnValue:
    """JSON: the problems deploy would report, each with element id and line."""
    problems = service().validate_bpmn(me(), request.get_data(cache=False))
    return jsonify({"valid": not problems, "problems": problems})


@bp.post("/designer/deploy")
@login_required
def deploy() -> ResponseReturnValue:
    user = me()
    try:  # the engine checks the role (designer or admin)
        definition, created = service().deploy(request.get_data(cache=False), user)
    except InvalidBpmn as exc:
        return jsonify({"valid": False, "message": exc.message, "problems": exc.details}), 422
    return jsonify({"valid": True, "process_id": definition.process_id,
                    "version": definition.version, "created": created}), 201 if created else 200


@bp.post("/designer/<process_id>/<int:version>/current")
@login_required
def make_current(process_id: str, version: int) -> ResponseReturnValue:
    service().make_current(me(), process_id, version)  # the engine checks the role
    flash(_("Version %(v)s of %(p)s is now current: new items start on it.", v=version,
            p=process_label(process_id)), "ok")
    return redirect(url_for("designer.definitions"))


@bp.post("/designer/<process_id>/<int:version>/suspension")
@login_required
def suspension(process_id: str, version: int) -> ResponseReturnValue:
    suspended = request.form.get("suspended") == "1"
    service().suspend_version(me(), process_id, version, suspended)
    flash(_("Version %(v)s of %(p)s is suspended: nothing new starts on it.", v=version,
            p=process_label(process_id)) if suspended else
          _("Version %(v)s of %(p)s is resumed.", v=version, p=process_label(process_id)), "ok")
    return redirect(url_for("designer.definitions"))


def _mapping(text: str) -> dict[str, str]:
    """The optional mapping, one "old step = new step" a line."""
    mapping = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        old, sep, new = line.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput(_("Mapping: “%(line)s”: write each line as old step = new step",
                                 line=line.strip()))
        mapping[old.strip()] = new.strip()
    return mapping


@bp.route("/designer/<process_id>/migrate", methods=["GET", "POST"])
@login_required
def migrate(process_id: str) -> ResponseReturnValue:
    """GET with both versions: the dry run; POST: the migration itself."""
    user = me()
    versions = [r for r in service().definitions_overview(user) if r["process_id"] == process_id]
    if not versions:
        return render_template("error.html", status=404,
                               message=_("The process “%(p)s” is not deployed.",
                                         p=process_id)), 404
    source = request.values.get("from", type=int)
    target = request.values.get("to", type=int)
    mapping_text = request.values.get("mapping", "")
    result, problem = None, None
    if source and target and source == target:
        problem = _("Choose two different versions: the items already run on version %(v)s.",
                    v=source)
    elif source and target:
        try:
            result = service().migrate_instances(
                user, process_id, source, target, _mapping(mapping_text),
                dry_run=request.method != "POST")
        except SanchikaError as exc:
            if exc.status == 403:
                raise
            problem = exc.message
    if result is not None and not result["dry_run"]:
        flash(_("%(n)s of %(total)s running item(s) moved to version %(v)s.",
                n=result["migrated"], total=len(result["instances"]), v=target), "ok")
    return render_template("migrate.html", process_id=process_id, versions=versions,
                           source=source, target=target, mapping=mapping_text,
                           result=result, problem=problem,
                           can_deploy=service().may_deploy(user))
