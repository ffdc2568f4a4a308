"""REST API for dak in depth, search and access grants (/api/v1)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from web.api import schemas
from web.api.auth import current_user
from web.api.core import app_service
from web.api.receipt_request import read_receipt_request

blp = Blueprint("dak", __name__, url_prefix="/api/v1",
                description="Dak copies, search and access grants")

RECEIPT_FORM_DOC = {"required": True, "content": {
    "application/json": {"schema": schemas.ReceiptCreate},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "pdf": {"type": "string", "format": "binary"}}}}}}


@blp.route("/receipts/<int:receipt_id>/copy", methods=["POST"])
@blp.doc(requestBody=RECEIPT_FORM_DOC)
@blp.response(201)
def copy_receipt(receipt_id: int) -> ResponseReturnValue:
    """Diarise a new receipt pre-filled from this one's metadata (sender, subject, mode,
    category, letter reference and date, language, grading); fields sent override them.
    The scan is not copied: send it in `pdf` for an electronic receipt."""
    body, pdf, name = read_receipt_request(schemas.ReceiptFrom())
    body.pop("from_receipt_id", None)
    return app_service().diarise_from(current_user(), receipt_id, body, pdf, name), 201


class SearchQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=400))
    kind = fields.String(load_default=None, validate=validate.OneOf(("file", "receipt")))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


@blp.route("/search")
@blp.arguments(SearchQuery, location="query")
def search(query: dict) -> ResponseReturnValue:
    """Files and receipts by number, subject, sender and the text of their notes (Hindi
    and English; every word must match, each as a word prefix). Only what you may see:
    `[{"kind","id","number","subject","sender","snippet"}]`, best match first."""
    return app_service().search(current_user(), query["q"], query["kind"], query["limit"])


class GrantCreate(Schema):
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))
    file_id = fields.Integer(load_default=None)
    receipt_id = fields.Integer(load_default=None)
    until = fields.String(load_default=None, metadata={
        "description": "YYYY-MM-DD (to the end of that day, IST) or an ISO date-time"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class GrantQuery(Schema):
    file_id = fields.Integer(load_default=None)
    receipt_id = fields.Integer(load_default=None)


@blp.route("/grants", methods=["POST"])
@blp.arguments(GrantCreate)
@blp.response(201)
def create_grant(body: dict) -> ResponseReturnValue:
    """Let one user read one file or receipt (recorded in the grants, the audit log and
    the item's history). By an administrator, or the item's current holder at Section
    Officer rank or above."""
    return app_service().grant(current_user(), body), 201


@blp.route("/grants")
@blp.arguments(GrantQuery, location="query")
def list_grants(query: dict) -> ResponseReturnValue:
    """Grants on a file or receipt you may read; without one, the grants you gave or
    received (all of them for an auditor or administrator)."""
    return app_service().grants(current_user(), query["file_id"], query["receipt_id"])


@blp.route("/grants/<int:grant_id>", methods=["DELETE"])
def revoke_grant(grant_id: int) -> ResponseReturnValue:
    """Revoke a grant (its grantor, an administrator, or the item's current holder at
    Section Officer rank or above); recorded like the grant."""
    return app_service().revoke_grant(current_user(), grant_id)
