"""Flask application factory."""

from __future__ import annotations

from flask import Flask

from engine import __version__
from engine.app import Sanchika
from engine.config import Settings
from engine.ops.metrics import Metrics
from web import errors
from web.api import dak as api_dak
from web.api import email_dak as api_email_dak
from web.api import exchange as api_exchange
from web.api import ocr as api_ocr
from web.api import people as api_people
from web.api import responses
from web.api.admin import blp as admin_blp
from web.api.audit import blp as audit_blp
from web.api.core import blp
from web.api.files import blp as files_blp
from web.api.health import blp as health_blp
from web.api.health import init_health
from web.api.sla import blp as sla_blp
from web.api.versions import blp as versions_blp
from web.errors import SanchikaApi
from web.routing import CachedRule
from web.security import DatabaseInt, init_security, strict_query_arguments
from web.serving import init_serving
from web.ui import init_ui


class SanchikaFlask(Flask):
    url_rule_class = CachedRule


def create_app(settings: Settings | None = None, service: Sanchika | None = None) -> Flask:
    import handlers

    settings = settings or Settings.from_env()
    service = service or Sanchika(settings, handlers.registry)
    app = SanchikaFlask(__name__)
    app.url_map.converters["int"] = DatabaseInt  # before any route is added
    strict_query_arguments()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # room for the largest allowed upload plus its form fields
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        API_TITLE="Sanchika e-Office API",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.extensions["sanchika"] = service
    api = SanchikaApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    api.register_blueprint(blp)
    api.register_blueprint(audit_blp)
    api.register_blueprint(api_dak.blp)
    api.register_blueprint(api_people.blp)
    api.register_blueprint(files_blp)
    api.register_blueprint(sla_blp)
    api.register_blueprint(versions_blp)
    api.register_blueprint(health_blp)
    api.register_blueprint(api_email_dak.blp)
    api.register_blueprint(api_ocr.blp)
    api.register_blueprint(api_exchange.blp)
    api.register_blueprint(admin_blp)
    api.finish_document(responses.document)
    errors.register(app)
    init_ui(app, service)
    metrics = Metrics(settings, service.db)  # per app: its own registry
    metrics.instrument(service)
    init_health(app, metrics, settings)
    init_serving(app, settings)
    init_security(app)
    return app
