"""Flask application factory."""

from __future__ import annotations

from flask import Flask, redirect, render_template, request, session, url_for

from engine.config import Settings
from engine.errors import Unauthorized
from engine.services import Sanchika

from . import api_dak, api_people, errors
from .api import blp
from .api_audit import blp as audit_blp
from .api_files import blp as files_blp
from .api_sla import blp as sla_blp
from .errors import SanchikaApi


def create_app(settings: Settings | None = None, service: Sanchika | None = None) -> Flask:
    import handlers

    settings = settings or Settings.from_env()
    service = service or Sanchika(settings, handlers.registry)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # room for the largest allowed upload plus its form fields
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        API_TITLE="Sanchika e-Office API",
        API_VERSION="v1",
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
    errors.register(app)
    _pages(app, service)
    return app


def _pages(app: Flask, service: Sanchika) -> None:
    """The sign-in page; the officer's desk comes with the web UI."""

    @app.get("/")
    def home():  # type: ignore[no-untyped-def]
        uid = session.get("uid")
        user = service.user(uid) if uid else None
        if user is None:
            return redirect(url_for("login"))
        return render_template("home.html", user=user, tasks=service.inbox(user))

    @app.route("/login", methods=["GET", "POST"])
    def login():  # type: ignore[no-untyped-def]
        error = None
        if request.method == "POST":
            try:
                user = service.authenticate(request.form.get("username", ""),
                                            request.form.get("password", ""))
            except Unauthorized as exc:
                error = exc.message
            else:
                session.clear()
                session["uid"] = user.id
                return redirect(url_for("home"))
        return render_template("login.html", error=error), 401 if error else 200

    @app.post("/logout")
    def logout():  # type: ignore[no-untyped-def]
        session.clear()
        return redirect(url_for("login"))
