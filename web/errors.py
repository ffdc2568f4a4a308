"""Every error leaves as JSON {"error": {"code", "message", "details"?}} with its status."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from sqlalchemy.exc import DataError
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
    def handle_http_exception(self, error: HTTPException
                              ) -> tuple[Response, int] | ResponseReturnValue:
        if not request.path.startswith("/api/"):
            return html_error(error)
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        if messages:
            lines = field_messages(messages)
            return error_response(422, "invalid", "; ".join(lines),
                                  [{"message": line} for line in lines])
        code = (error.name or "error").lower().replace(" ", "_")
        if error.code == 413:
            return error_response(413, "too_large", too_large_message())
        message = data.get("message") or error.description or error.name or "error"
        return error_response(error.code or 500, code, message)


def html_error(error: HTTPException) -> ResponseReturnValue:
    """Browser paths get a page in the user's language, not JSON."""
    from flask_babel import gettext as _

    status = error.code or 500
    messages = {
        403: _("You may not open this page."),
        404: _("There is no such page here."),
        405: _("This page cannot be used that way."),
        413: too_large_message() if status == 413 else "",
        500: _("Something went wrong on the server. The error was recorded; try again or "
               "tell your administrator."),
    }
    message = messages.get(status) or error.description or ""
    try:
        return render_template("error.html", status=status, message=message), status
    except Exception:  # the error page itself failed: plain text, never a loop
        return Response(f"{status} {message}", status=status, mimetype="text/plain")


def too_large_message() -> str:
    """The 413 names the limit, so the sender knows what would fit."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    upload = current_app.extensions["sanchika"].settings.max_upload_bytes
    return (f"request body: larger than the limit of {limit} bytes "
            f"(an upload may be at most {upload // (1024 * 1024)} MB, "
            "SANCHIKA_MAX_UPLOAD_MB, plus 1 MB of form fields)")


def register(app: Flask) -> None:
    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(exc: Exception) -> tuple[Response, int]:
        # e.g. an id of 30 digits: SQLite cannot bind it, PostgreSQL refuses it as out of
        # range; either way the request was wrong and nothing was written
        return error_response(422, "invalid", "a number in the request is out of range "
                              "for its field (ids and counts fit in 64 bits)")

    @app.errorhandler(SanchikaError)
    def _domain(exc: SanchikaError) -> tuple[Response, int]:
        response, status = error_response(exc.status, exc.code, exc.message, exc.details)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response, status
