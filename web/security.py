"""Security headers on every response.

Pages get a strict Content-Security-Policy: scripts and styles only from this site (no
inline script, no inline event handlers, no eval), nothing framed from elsewhere, forms
posted only here. The bpmn-js pages (tracking diagram, designer) also allow inline style
attributes, which diagram-js writes into the markup it creates. A PDF is served with
`sandbox` alone, so script in an uploaded document cannot run with this site's origin.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter, Map

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'{styles}; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
INLINE_STYLE_BLUEPRINTS = ("track", "designer")
PERMISSIONS = ("camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
               "serial=(), bluetooth=(), publickey-credentials-get=(self), "
               "publickey-credentials-create=(self)")


class DatabaseInt(IntegerConverter):
    """An id in a path fits a database integer (64-bit signed); a larger number is no such
    page (404), not an overflow deep in the database driver."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = 2**63 - 1, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def strict_query_arguments() -> None:
    """The API refuses query parameters it does not know (422 naming them), as it does
    for JSON fields; webargs would otherwise drop them silently."""
    from flask_smorest import Blueprint
    from marshmallow import RAISE

    parser = Blueprint.ARGUMENTS_PARSER
    parser.DEFAULT_UNKNOWN_BY_LOCATION = {**parser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}


def content_security_policy(response: Response) -> str | None:
    if response.mimetype == "application/pdf":
        return "sandbox"
    if response.mimetype == "text/html":
        inline = request.blueprint in INLINE_STYLE_BLUEPRINTS
        return PAGE_CSP.format(styles=" 'unsafe-inline'" if inline else "")
    if request.path.startswith("/api/"):
        return API_CSP
    return None


def init_security(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        policy = content_security_policy(response)
        if policy and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = policy
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", PERMISSIONS)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
