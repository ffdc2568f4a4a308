"""Reading a receipt from a request: JSON, or multipart form fields with the scan in `pdf`."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from engine.errors import InvalidInput
from web.errors import field_messages


def read_receipt_request(schema: Schema) -> tuple[dict[str, Any], bytes | None, str | None]:
    """JSON, or multipart form fields with the scan in `pdf`, validated by schema."""
    multipart = request.mimetype == "multipart/form-data"
    upload = request.files.get("pdf") if multipart else None
    raw = request.form.to_dict() if multipart else request.get_json(silent=True)
    if raw is None and not multipart and not request.get_data():
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput("body: send a JSON object or a multipart form")
    if None in raw:  # a form part without a name: werkzeug keys it None
        raise InvalidInput("body: every part of the form needs a name")
    try:
        body = schema.load(raw)
    except ValidationError as exc:
        # flattened per field here: a field called "form" must not be read as the
        # request location of that name
        lines = [line for name, msgs in sorted(exc.normalized_messages().items())
                 for line in field_messages(msgs, str(name))]
        raise InvalidInput("; ".join(lines), [{"message": line} for line in lines]) from None
    if body.get("letter_date"):
        body["letter_date"] = body["letter_date"].isoformat()
    pdf = upload.read() if upload is not None else None
    return body, pdf, upload.filename if upload is not None else None
