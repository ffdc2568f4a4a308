"""REST API of e-mail diarisation (/api/v1/email-receipts): the diarist's pending e-mail
receipts, confirming one into a receipt or rejecting it, the mail and its attachments."""

from __future__ import annotations

import io

from flask import send_file
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.commands.email_dak import STATUSES
from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("email_dak_api", __name__, url_prefix="/api/v1",
                description="E-mail diarisation: mails taken from the office mailboxes")


class EmailQuery(Schema):
    status = fields.String(load_default="pending", validate=validate.OneOf(STATUSES))


class EmailConfirm(Schema):
    sender = fields.String(validate=validate.Length(max=300))
    subject = fields.String(validate=validate.Length(max=500))
    category = fields.String(validate=validate.Length(max=64))
    letter_ref = fields.String(validate=validate.Length(max=200))
    letter_date = fields.String(metadata={"description": "YYYY-MM-DD"})
    language = fields.String(validate=validate.OneOf(("en", "hi", "other")))
    grading = fields.String(validate=validate.OneOf(("Normal", "Confidential", "Secret")))
    scan = fields.Integer(load_default=None, metadata={
        "description": "position of the PDF attachment to use as the scan (default: the "
                       "first PDF; a mail without one gets a PDF of its text)"})


class EmailReject(Schema):
    remark = fields.String(required=True, validate=validate.Length(min=1, max=2000))


@blp.route("/email-receipts")
@blp.arguments(EmailQuery, location="query")
def list_email_receipts(query: dict) -> ResponseReturnValue:
    """E-mail receipts of the posts you hold (pending by default), oldest first."""
    return app_service().email_receipts(current_user(), query["status"])


@blp.route("/email-receipts/<int:email_id>")
def get_email_receipt(email_id: int) -> ResponseReturnValue:
    """One mail: sender, subject, date, body text, attachments, and `prefill`, the
    receipt fields a confirmation starts from."""
    return app_service().email_receipt(current_user(), email_id)


@blp.route("/email-receipts/<int:email_id>/confirm", methods=["POST"])
@blp.arguments(EmailConfirm)
@blp.response(201)
def confirm_email_receipt(body: dict, email_id: int) -> ResponseReturnValue:
    """Diarise the mail as an electronic receipt (mode e-mail); fields sent override the
    pre-filled ones. Once only: a second decision is 409."""
    scan = body.pop("scan", None)
    return app_service().confirm_email(current_user(), email_id, body, scan), 201


@blp.route("/email-receipts/<int:email_id>/reject", methods=["POST"])
@blp.arguments(EmailReject)
def reject_email_receipt(body: dict, email_id: int) -> ResponseReturnValue:
    """Do not diarise the mail (spam, not for this office); the remark says why."""
    return app_service().reject_email(current_user(), email_id, body["remark"])


@blp.route("/email-receipts/<int:email_id>/eml")
def email_eml(email_id: int) -> ResponseReturnValue:
    """The mail exactly as taken from the mailbox."""
    data, name, mime = app_service().email_file(current_user(), email_id, None)
    return send_file(io.BytesIO(data), mimetype=mime, download_name=name, as_attachment=True)


@blp.route("/email-receipts/<int:email_id>/attachments/<int:position>")
def email_attachment(email_id: int, position: int) -> ResponseReturnValue:
    """One attachment, by its position in the mail (from 1)."""
    data, name, mime = app_service().email_file(current_user(), email_id, position)
    return send_file(io.BytesIO(data), mimetype=mime, download_name=name,
                     as_attachment=mime != "application/pdf", max_age=0)


@blp.route("/mailboxes")
def mailboxes() -> ResponseReturnValue:
    """Administrators: each configured mailbox and how its last poll went."""
    return app_service().mailbox_status(current_user())
