"""REST API for versions under control (docs/designer-guide.md): make a deployed version
current (rollback), suspend or resume it, and migrate running instances between versions
(a dry run by default). Designers and administrators; the engine checks the role."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("versions", __name__, url_prefix="/api/v1",
                description="Process versions: rollback, suspension, migration")

STEP = validate.Length(min=1, max=128)


class Suspension(Schema):
    suspended = fields.Boolean(required=True)


class MigrationRequest(Schema):
    from_version = fields.Integer(required=True, strict=True,
                                  validate=validate.Range(min=1, max=1_000_000))
    to_version = fields.Integer(required=True, strict=True,
                                validate=validate.Range(min=1, max=1_000_000))
    mapping = fields.Dict(keys=fields.String(validate=STEP), values=fields.String(
        validate=STEP), load_default=None, metadata={
        "description": "optional: {step id in the running version: step id in the target}; "
                       "steps not named keep their id"})
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "true (the default): only say where each token would land"})


PROCESS = "/process-definitions/<string:process_id>/versions/<int:version>"


@blp.route(f"{PROCESS}/current", methods=["POST"])
def make_current(process_id: str, version: int) -> ResponseReturnValue:
    """Make this version the one new instances start on (rollback to an older version)."""
    return app_service().make_current(current_user(), process_id, version)


@blp.route(f"{PROCESS}/suspension", methods=["POST"])
@blp.arguments(Suspension)
def suspend(body: dict, process_id: str, version: int) -> ResponseReturnValue:
    """Suspend a version (no new instances; its timer start events wait) or resume it."""
    return app_service().suspend_version(current_user(), process_id, version,
                                         body["suspended"])


@blp.route("/process-definitions/<string:process_id>/migrations", methods=["POST"])
@blp.arguments(MigrationRequest)
def migrate(body: dict, process_id: str) -> ResponseReturnValue:
    """Plan (dry run) or carry out the migration of every running instance of one version
    to another, one transaction per instance: per instance, where each token lands and
    what cannot be mapped (such an instance stays where it is)."""
    return app_service().migrate_instances(
        current_user(), process_id, body["from_version"], body["to_version"],
        body["mapping"], dry_run=body["dry_run"])
