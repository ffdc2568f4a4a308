"""Liveness, readiness, the version, Prometheus metrics and the browsable API page.

GET /health answers while the process runs; GET /ready runs the checks of
engine/ops/health.py (503 when a critical one fails); GET /api/v1/health is the version
for integrators; GET /metrics is Prometheus' text format (with SANCHIKA_METRICS_TOKEN set,
only for 'Authorization: Bearer <token>'); GET /api/docs is Swagger UI over the OpenAPI
document, from local npm assets."""

from __future__ import annotations

import hmac

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from engine import __version__
from engine.config import Settings
from engine.ops import health
from engine.ops.metrics import CONTENT_TYPE, Metrics
from web.api import responses

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service status")


@blp.route("/health")
@blp.response(200, responses.Health)
@blp.doc(security=[])
def api_health() -> dict[str, str]:
    """The service answers; its version (no sign-in needed)."""
    return {"status": "ok", "version": __version__}


def init_health(app: Flask, metrics: Metrics, settings: Settings) -> None:
    service = app.extensions["sanchika"]

    @app.get("/health")
    def liveness() -> ResponseReturnValue:
        return jsonify(status="ok", version=__version__)

    @app.get("/ready")
    def readiness() -> ResponseReturnValue:
        checks = health.readiness(settings, service.db)
        ready = all(c.ok for c in checks if c.critical)
        return jsonify(status="ready" if ready else "not ready", version=__version__,
                       checks=[c.as_dict() for c in checks]), 200 if ready else 503

    @app.get("/metrics")
    def metrics_page() -> ResponseReturnValue:
        token = settings.metrics_token
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return Response("metrics need the bearer token\n", 401,
                                {"WWW-Authenticate": "Bearer"}, mimetype="text/plain")
        return Response(metrics.render(), content_type=CONTENT_TYPE)

    @app.get("/api/docs")
    def api_docs() -> ResponseReturnValue:
        return render_template("api_docs.html", version=__version__)

    @app.context_processor
    def _version() -> dict:
        return {"sanchika_version": __version__}
