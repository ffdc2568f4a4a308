"""Response schemas (placeholder, filled below)."""
from marshmallow import Schema, fields


class Health(Schema):
    status = fields.String(required=True)
    version = fields.String(required=True)


def document(api) -> None:  # type: ignore[no-untyped-def]
    pass
