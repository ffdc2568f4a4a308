"""Every error leaves as JSON {"error": {"code", "message", "details"?}} with its status."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from flask_smorest.spec import openapi_cli
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
    """The JSON API. Its OpenAPI document is written on first use (the first request for
    openapi.json): writing it was a third of the cost of every `create_app`, and most
    apps (each worker, each test) never serve it. It comes out as flask-smorest writes it
    at once: the same steps in the same order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._spec: Any = None
        self._spec_options: dict[str, Any] | None = None
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._finish: list[Callable[[Api], None]] = []
        self._written = False
        self._writing = False
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    @property
    def spec(self) -> Any:
        if not self._written and self._spec_options is not None:
            with self._lock:  # one thread writes it; the others wait for it
                self._write_once()
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value

    def _init_spec(self, **options: Any) -> None:
        self._spec_options = options
        self._app.cli.add_command(openapi_cli)  # `flask openapi print` writes it then

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """As flask-smorest's, but the blueprint's views go into the document later."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def finish_document(self, write: Callable[[Api], None]) -> None:
        """Run `write(api)` on the document once every blueprint is in it."""
        self._finish.append(write)

    def _write_once(self) -> None:
        if self._written or self._writing:  # (the writer reads `spec` as it writes)
            return
        self._writing = True
        try:
            self._write_document()
        finally:
            self._writing = False

    def _write_document(self) -> None:
        super()._init_spec(**(self._spec_options or {}))
        spec = self._spec
        for blp, name, parameters in self._undocumented:  # as Api.register_blueprint
            blp.register_views_in_doc(self, self._app, spec, name=name, parameters=parameters)
            spec.tag({"name": name, "description": blp.description})
        for write in self._finish:
            write(self)
        self._written = True

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
