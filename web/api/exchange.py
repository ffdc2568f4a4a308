"""REST API of the exchange between installations (/api/v1): this installation's identity,
partners (administrators register them), sending a file to a partner's post, the exchange
outbox, and the inbox where partners deliver packages (authenticated by the package's
signature, not by a user's token)."""

from __future__ import annotations

import io

from flask import request, send_file
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.errors import InvalidInput
from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("exchange_api", __name__, url_prefix="/api/v1",
                description="Files sent between installations that trust each other")


class PartnerCreate(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SendToPartner(Schema):
    partner = fields.String(required=True, validate=validate.Length(min=1, max=100))
    post = fields.String(required=True, validate=validate.Length(min=1, max=64))
    remark = fields.String(load_default=None, validate=validate.Length(max=2000))


@blp.route("/exchange/identity")
@blp.doc(security=[])
def identity() -> ResponseReturnValue:
    """This installation's name and public key, to register it as a partner elsewhere."""
    return app_service().installation()


@blp.route("/exchange/partners", methods=["POST"])
@blp.arguments(PartnerCreate)
@blp.response(201)
def register_partner(body: dict) -> ResponseReturnValue:
    """Administrators: trust another installation (name, base URL, public key PEM)."""
    return app_service().register_partner(current_user(), body["name"], body["url"],
                                          body["public_key"]), 201


@blp.route("/exchange/partners")
def partners() -> ResponseReturnValue:
    """The registered partner installations."""
    return app_service().partners(current_user())


@blp.route("/files/<int:file_id>/send-to-partner", methods=["POST"])
@blp.arguments(SendToPartner)
@blp.response(202)
def send_to_partner(body: dict, file_id: int) -> ResponseReturnValue:
    """Send the file (its signed export) to a post of a partner installation; it waits
    in the exchange outbox until the partner takes it (retried while it is down)."""
    return app_service().send_file_to_partner(current_user(), file_id, body["partner"],
                                              body["post"], body["remark"]), 202


@blp.route("/receipts/<int:receipt_id>/send-to-partner", methods=["POST"])
@blp.arguments(SendToPartner)
@blp.response(202)
def send_receipt_to_partner(body: dict, receipt_id: int) -> ResponseReturnValue:
    """Send the receipt (its fields, scan and history, signed) to a post of a partner
    installation, through the exchange outbox like a file."""
    return app_service().send_receipt_to_partner(current_user(), receipt_id, body["partner"],
                                                 body["post"], body["remark"]), 202


@blp.route("/exchange/outbox")
def outbox() -> ResponseReturnValue:
    """Packages sent to partners and their delivery state (yours; all for an admin)."""
    return app_service().exchange_outbox(current_user())


@blp.route("/exchange/inbox", methods=["POST"])
@blp.doc(security=[])
@blp.response(201)
def inbox() -> ResponseReturnValue:
    """A partner delivers a package: multipart fields `envelope` (JSON), `signature`
    (base64 Ed25519 over the envelope) and `package` (the export zip). Refused with the
    reason if the partner is unknown, the signature forged, the package altered, or the
    package was received before (409)."""
    upload = request.files.get("package")
    if upload is None:
        raise InvalidInput("package: required (the export zip)")
    return app_service().receive_package(request.form.get("envelope", ""),
                                         request.form.get("signature", ""),
                                         upload.read()), 201


@blp.route("/receipts/<int:receipt_id>/package")
def received_package(receipt_id: int) -> ResponseReturnValue:
    """The package a receipt received from a partner came in (verifiable offline with
    `sanchika verify --export`)."""
    data, name = app_service().received_package(current_user(), receipt_id)
    return send_file(io.BytesIO(data), mimetype="application/zip", download_name=name,
                     as_attachment=True)
