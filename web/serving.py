"""Serving in production: behind a TLS proxy (trusted X-Forwarded-* headers only when
SANCHIKA_TRUSTED_PROXIES says how many proxies stand in front), Secure cookies and HSTS
over HTTPS, a request id on every request and one access-log line per request, and a
waitress server that accepts raw UTF-8 in the request line (curl sends a Hindi query so)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.config import Settings

access_log = logging.getLogger("sanchika.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def init_serving(app: Flask, settings: Settings) -> None:
    if settings.trusted_proxies > 0:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n,  # type: ignore[method-assign]
                                x_port=n)
    if settings.https:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True,
                          PREFERRED_URL_SCHEME="https")
    app.config.update(REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        if settings.https and settings.hsts_seconds:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={settings.hsts_seconds}")
        if access_log.isEnabledFor(logging.INFO):  # the line is not built for nothing
            access_log.info(access_line(response.status_code,
                                        response.calculate_content_length()))
        return response


def _user() -> str:
    user = g.get("user")  # the API's bearer-token user
    if user is None:
        login = g.get("_login_user")  # the pages' signed-in user (Flask-Login), if loaded
        user = getattr(login, "model", None)
    return getattr(user, "username", None) or "-"


def access_line(status: int, size: int | None) -> str:
    """Apache's combined format, then the duration and the request id:
    addr - user [time] "METHOD path HTTP/x" status bytes "referer" "agent" 12.3ms rid=..."""
    started = g.get("started")
    ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    when = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    path = request.full_path.rstrip("?") if request.query_string else request.path

    def quoted(value: str | None) -> str:
        return (value or "-").replace("\\", "\\\\").replace('"', '\\"')

    return (f'{request.remote_addr or "-"} - {_user()} [{when}] '
            f'"{request.method} {quoted(path)} {request.environ.get("SERVER_PROTOCOL", "-")}" '
            f'{status} {size if size is not None else "-"} '
            f'"{quoted(request.referrer)}" "{quoted(request.user_agent.string)}" '
            f'{ms:.1f}ms rid={g.get("request_id", "-")}')


class Utf8RequestParser(HTTPRequestParser):
    """Percent-encode raw UTF-8 (any byte over 0x7F) in the request line before waitress
    parses it, instead of refusing it with a plain-text 400 "Bad URI"."""

    def parse_header(self, header_plus: bytes) -> None:
        end = header_plus.find(b"\r\n")
        if end > 0 and _NON_ASCII.search(header_plus, 0, end):
            line = _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], header_plus[:end])
            header_plus = line + header_plus[end:]
        super().parse_header(header_plus)


class Utf8Channel(HTTPChannel):
    parser_class = Utf8RequestParser


def make_server(app: Flask, host: str, port: int, threads: int = 8,
                forwarded: bool = False) -> MultiSocketServer | BaseWSGIServer:
    """A waitress server for the app (as `sanchika serve` runs it). With `forwarded`
    (SANCHIKA_TRUSTED_PROXIES set) waitress passes X-Forwarded-* on to ProxyFix, which
    believes only as many hops as configured; otherwise waitress drops those headers."""
    server = create_server(app, host=host, port=port, threads=threads, ident="Sanchika",
                           clear_untrusted_proxy_headers=not forwarded)
    # one listening socket: the server itself; several (MultiSocketServer): each in its map
    listeners = [server] if hasattr(server, "channel_class") else [
        s for s in (server.map or {}).values() if hasattr(s, "channel_class")]
    for listener in listeners:
        listener.channel_class = Utf8Channel
    return server
