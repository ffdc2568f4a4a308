"""The web UI's plumbing: sign-in sessions (Flask-Login), CSRF on every form (Flask-WTF),
Hindi/English catalogs (Flask-Babel), browser assets served from node_modules, and the
page blueprints."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    render_template,
    request,
    send_from_directory,
    session,
)
from flask.typing import ResponseReturnValue
from flask_babel import Babel
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import safe_join

from engine.app import Sanchika
from engine.commands.ui import UI_LANGUAGES
from engine.store.models import User

WEB = Path(__file__).resolve().parent
TRANSLATIONS = WEB / "translations"
NODE_MODULES = WEB / "node_modules"
# Only these package folders are served from node_modules (never the whole tree).
API_PREFIX = "/api/"
VENDOR_PATHS = ("bpmn-js/dist/", "chart.js/dist/", "@fontsource/noto-sans-devanagari/",
                "swagger-ui-dist/swagger-ui")

# Asset URLs carry a digest of the file's content (?v=...), so a browser keeps the file for
# a year without asking again on every page; an edited file gets a new URL.
ASSET_MAX_AGE = 365 * 24 * 3600
_digests: dict[str, tuple[int, int, str]] = {}


def asset_digest(path: str) -> str | None:
    """A short digest of a file's content, computed again only when the file changes."""
    if not path:
        return None
    try:
        stat = Path(path).stat()
        known = _digests.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:  # no such file, or a folder
        return None
    _digests[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


# the session generation a session began in (engine/domain/sessions.py): sign-off
# everywhere, a password change or reset and deactivation move it on, ending older sessions
SESSION_GENERATION = "generation"

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


class WebUser(UserMixin):
    """The signed-in user for Flask-Login; `.model` is what the services take."""

    def __init__(self, model: User):
        self.model = model

    def get_id(self) -> str:
        return str(self.model.id)

    @property
    def is_active(self) -> bool:
        return bool(self.model.active)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def me() -> User:
    """The signed-in user's record (pages are login_required, so there is one)."""
    return current_user.model


def compile_catalogs(folder: Path = TRANSLATIONS) -> None:
    """Compile each messages.po to .mo when missing or older, so a fresh clone works
    without a build step (scripts also run `pybabel compile`)."""
    for po in folder.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in UI_LANGUAGES:
        return chosen
    if current_user.is_authenticated and current_user.language in UI_LANGUAGES:
        return current_user.language
    return request.accept_languages.best_match(UI_LANGUAGES) or "en"


def unread_count(service: Sanchika) -> int:
    """New in-app notifications of the signed-in user (the header's count), once a request."""
    if not current_user.is_authenticated:
        return 0
    if "unread" not in g:
        g.unread = service.unread_notifications(current_user.model)
    return int(g.unread)


def _init_sessions(app: Flask, service: Sanchika) -> None:
    """Flask-Login with sessions the server can end."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.anonymous_user = AnonymousUserMixin

    # Idle timeout: the session cookie is re-signed on every request and refused once
    # older than this (Flask checks the signature's age); the absolute limit is checked
    # by the loader against the sign-in time the session carries.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=service.settings.idle_minutes)
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    absolute = service.settings.session_hours * 3600

    @login_manager.user_loader
    def load_user(user_id: str) -> WebUser | None:
        """Every request asks the server whether this session is still open: signed off,
        signed off everywhere, password changed or reset, deactivated all end it."""
        started = session.get("started")
        if not user_id.isdigit() or not isinstance(started, int | float) \
                or time.time() - started > absolute:
            return None
        # the service of the app serving this request: the login manager is shared by
        # every app made in this process (two installations in one test run)
        svc = current_app.extensions.get("sanchika", service)
        user = svc.session_user(int(user_id), session.get("sign_in_id"),
                                session.get("generation"))
        return WebUser(user) if user is not None else None


def _init_assets(app: Flask) -> None:
    """The browser assets: node_modules' served folders, and long caching for both these
    and the static files when their URL names the content's digest."""

    @app.get("/vendor/<path:name>")
    def vendor(name: str) -> Response:
        if not name.startswith(VENDOR_PATHS) or ".." in name:
            abort(404)
        return send_from_directory(NODE_MODULES, name, max_age=3600)

    def asset_path(endpoint: str | None, values: dict[str, Any] | None) -> str | None:
        if endpoint == "static" and values and app.static_folder:
            return safe_join(app.static_folder, values.get("filename", ""))
        if endpoint == "vendor" and values:
            return safe_join(str(NODE_MODULES), values.get("name", ""))
        return None

    @app.url_defaults
    def _versioned_assets(endpoint: str, values: dict[str, Any]) -> None:
        path = asset_path(endpoint, values)
        if path is not None and "v" not in values and (digest := asset_digest(path)):
            values["v"] = digest

    @app.after_request
    def _cache_assets(response: Response) -> Response:
        version = request.args.get("v")
        if version and response.status_code in (200, 304) \
                and asset_digest(asset_path(request.endpoint, request.view_args) or "") == version:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = ASSET_MAX_AGE
            response.cache_control.immutable = True
            response.expires = None
        return response


def init_ui(app: Flask, service: Sanchika) -> None:
    from web.pages import account as pages_account
    from web.pages import admin as pages_admin
    from web.pages import audit as pages_audit
    from web.pages import auth as pages_auth
    from web.pages import dashboard as pages_dashboard
    from web.pages import designer as pages_designer
    from web.pages import desk as pages_desk
    from web.pages import email_dak as pages_email_dak
    from web.pages import exchange as pages_exchange
    from web.pages import monitor as pages_monitor
    from web.pages import ocr as pages_ocr
    from web.pages import passkeys as pages_passkeys
    from web.pages import registers as pages_registers
    from web.pages import review as pages_review
    from web.pages import search as pages_search
    from web.pages import track as pages_track
    from web.pages import work as pages_work
    compile_catalogs()
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's life
    babel.init_app(app, locale_selector=select_locale)
    # Every form of the pages needs its token. The JSON API (/api/v1, any of its
    # blueprints) is exempt: it authenticates by bearer token only, never by the cookie.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)

    @app.before_request
    def _csrf_for_pages() -> None:
        if request.method in app.config["WTF_CSRF_METHODS"] \
                and not request.path.startswith(API_PREFIX):
            csrf.protect()

    _init_sessions(app, service)

    for module in (pages_auth, pages_desk, pages_search, pages_track, pages_designer,
                   pages_dashboard, pages_work, pages_account, pages_registers,
                   pages_email_dak, pages_ocr, pages_exchange, pages_admin, pages_monitor,
                   pages_review, pages_audit, pages_passkeys):
        app.register_blueprint(module.bp)

    def _unread() -> int:
        return unread_count(service)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from flask_babel import get_locale

        from web.history_text import process_label
        from web.verify_text import problem_text

        return {"lang": str(get_locale() or "en"), "me": current_user,
                "process_label": process_label, "problem_text": problem_text,
                "has": lambda name: hasattr(service, name), "unread": _unread}

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        return render_template("error.html", status=400, message=_(
            "The form was refused: its security token is missing or has expired. "
            "Go back, reload the page and try again.")), 400

    _init_assets(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        if "text/html" in response.content_type and g.get("no_store", True):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
