"""Every error leaves as JSON {"error": {"code", "message", "details"?}} with its status."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from engine.errors import SanchikaError


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return jsonify({"error": body}), status


def field_messages(messages: Any, prefix: str = "") -> list[str]:
    """Flatten webargs/marshmallow messages into 'field: message' lines."""
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "" if key in ("json", "form", "query", "files") else str(key)
            out += field_messages(value, f"{prefix}.{name}" if prefix and name else prefix or name)
    elif isinstance(messages, list):
        for m in messages:
            out += field_messages(m, prefix)
    else:
        out.append(f"{prefix}: {messages}" if prefix else str(messages))
    return out


class SanchikaApi(Api):
    def handle_http_exception(self, error: HTTPException) -> tuple[Response, int]:
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        if messages:
            lines = field_messages(messages)
            return error_response(422, "invalid", "; ".join(lines),
                                  [{"message": line} for line in lines])
        code = (error.name or "error").lower().replace(" ", "_")
        message = data.get("message") or error.description or error.name or "error"
        return error_response(error.code or 500, code, message)


def register(app: Flask) -> None:
    @app.errorhandler(SanchikaError)
    def _domain(exc: SanchikaError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, exc.message, exc.details)
