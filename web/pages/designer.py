"""The designer's board: deployed processes and versions with running-instance counts,
the bpmn-js modeler, validation with errors shown on their elements, deployment."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from engine.errors import InvalidBpmn
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
    return render_template("designer.html", processes=processes)


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
