"""Domain errors; the web layer maps each to an HTTP status."""

from __future__ import annotations

from typing import Any


class SanchikaError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(SanchikaError):
    status = 422
    code = "invalid"


class InvalidBpmn(InvalidInput):
    code = "invalid_bpmn"


class NotFound(SanchikaError):
    status = 404
    code = "not_found"


class Forbidden(SanchikaError):
    status = 403
    code = "forbidden"


class Unauthorized(SanchikaError):
    status = 401
    code = "unauthorized"


class Conflict(SanchikaError):
    """Stale version, or the item was already acted on."""

    status = 409
    code = "conflict"


class ActionNotAllowed(SanchikaError):
    status = 422
    code = "action_not_allowed"
