"""Extranet des collectivités — the portal: app factory, auth, tenancy, service registry, administration."""
from __future__ import annotations

import logging
import os

from flask import Flask, g, has_request_context, jsonify, render_template, request, session
from flask_login import current_user

from .config import load_config
from .extensions import babel, csrf, db, login_manager, migrate

log = logging.getLogger(__name__)


def _select_locale() -> str:
    langs = ["fr", "en"]
    if not has_request_context():  # CLI commands and Celery tasks: French, unless they force another locale
        return "fr"
    lang = request.args.get("lang")
    if lang in langs:
        session["lang"] = lang
    if session.get("lang") in langs:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    return "fr"


def create_app(overrides: dict | None = None) -> Flask:
    """The portal with its services, in named steps (each below)."""
    app = _make_flask(overrides)
    _configure_logging(app.config.get("DEPARTMENT_TIMEZONE") or "Europe/Paris")
    _init_database(app)
    _init_extensions(app)
    registry = _init_registry(app, overrides)
    _init_background_work(app)
    _register_blueprints(app, registry)
    _register_healthz(app)
    _register_errors(app)
    _register_templates(app, registry)
    _init_operations(app)
    return app


def _init_operations(app: Flask) -> None:
    """Backups, deep health check, metrics, request ids in the logs, Sentry (portal/ops)."""
    from .ops import init_app

    init_app(app)


class PortalFlask(Flask):
    """Flask, asking once per function — not at every call — whether a view or hook is a coroutine function: Flask
    asks it of each of the twenty-odd hooks of every request (``inspect.iscoroutinefunction``, six calls each)."""

    MAX_FUNCTIONS = 4096  # views, hooks, handlers: a few hundred; beyond, the table starts again empty

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_of: dict = {}

    def ensure_sync(self, func):
        try:
            return self._sync_of[func]
        except KeyError:
            if len(self._sync_of) >= self.MAX_FUNCTIONS:
                self._sync_of.clear()
            done = self._sync_of[func] = super().ensure_sync(func)
            return done
        except TypeError:  # not hashable
            return super().ensure_sync(func)


def _make_flask(overrides: dict | None) -> Flask:
    """The Flask object with its configuration, behind the configured number of trusted proxies, with the one
    integer converter of every route (ids beyond the database's integers are unknown pages, not errors)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .urls import DatabaseIdConverter

    config = load_config()
    if overrides:
        config.update(overrides)
    app = PortalFlask(__name__, instance_path=config["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(config)
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0:  # X-Forwarded-For/-Proto/-Host/-Port of that many proxies (README, "Reverse proxy")
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.url_map.converters["int"] = DatabaseIdConverter
    return app


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ZoneFormatter(logging.Formatter):
    """Log times in the default département's legal time, with its UTC offset (2026-12-07T09:15:02.114+04:00), so
    that a line reads the same as the time the département's users saw, whatever the server's own zone."""

    zone = None

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging API
        import datetime as dt

        return dt.datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="milliseconds")


def _configure_logging(zone_name: str = "Europe/Paris") -> None:
    from zoneinfo import ZoneInfo

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=LOG_FORMAT)
    try:
        ZoneFormatter.zone = ZoneInfo(zone_name)
    except Exception:  # noqa: BLE001 - reported by identity.check when the app starts
        ZoneFormatter.zone = ZoneInfo("Europe/Paris")
    for handler in logging.getLogger().handlers:
        if handler.formatter is not None and handler.formatter._fmt == LOG_FORMAT:
            handler.setFormatter(ZoneFormatter(LOG_FORMAT))
    for noisy in ("weasyprint", "fontTools"):  # page-by-page progress of every PDF
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _init_database(app: Flask) -> None:
    """SQLAlchemy, the pool's liveness check, read-only commits, migrations and the territory choke point."""
    from . import models  # noqa: F401 - register models
    from . import audiences, tenancy
    from .dbpool import install_idle_ping, install_read_only_commit

    db.init_app(app)
    with app.app_context():
        if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            install_idle_ping(db.engine, app.config["DB_PING_AFTER_IDLE"])
        install_read_only_commit(app, db)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    tenancy.install()
    audiences.install()


def _init_extensions(app: Flask) -> None:
    """CSRF, translations, sign-in, and the per-request context (before the service gate, which reads it)."""
    from .context import init_context

    csrf.init_app(app)
    from . import identity

    identity.check(app)  # a wrong IDENTITY_FILE or time zone stops here, with a clear message
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations",
                   timezone_selector=lambda: identity.current_identity().timezone)
    from . import i18n

    i18n.install(app)  # the templates' strings: the request's catalog looked up once, not at every string
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    init_context(app)


def _init_registry(app: Flask, overrides: dict | None):
    """This app's own services (portal.registry.registry is a proxy to it), their settings and catalogs."""
    from .registry import Registry

    registry = Registry()
    registry.init_app(app)
    # Services' settings come from the environment too: every variable named after a service slug
    # (CADASTRE_BASEMAP_URL, ALERTS_WEBHOOK_SECRET, …) is copied into the configuration, as a string.
    prefixes = tuple(f"{slug.upper()}_" for slug in registry.slugs())
    for key, value in os.environ.items():
        if key.startswith(prefixes) and key not in (overrides or {}):
            app.config[key] = value
    # Each service package may ship its own French catalog (services/<slug>/translations): merged with the portal's.
    babel_cfg = app.extensions["babel"]
    for service in registry.all():
        for bp in (service.blueprint, service.api_blueprint, service.public_blueprint, service.department_blueprint):
            # beside the blueprint's module, or one level up when the views are a package (services/<slug>/views/)
            for root in ((bp.root_path, os.path.dirname(bp.root_path)) if bp is not None else ()):
                folder = os.path.join(root, "translations")
                if os.path.isdir(folder) and folder not in babel_cfg.translation_directories:
                    babel_cfg.translation_directories.append(folder)
    return registry


def _init_background_work(app: Flask) -> None:
    """Celery, the e-mail outbox, the rate limits of public forms, response headers, the CLI."""
    from .cli import register_cli
    from .ratelimit import init_limiter
    from .security import init_headers
    from .tasks import init_celery

    init_celery(app)
    init_limiter(app)
    from . import mail  # noqa: F401 - registers the outbox listeners and tasks (once Celery is set up)

    init_headers(app)
    register_cli(app)


def _register_blueprints(app: Flask, registry) -> None:
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .home import bp as home_bp
    from .mairie import bp as mairie_bp
    from .support import bp as support_bp

    for bp in (auth_bp, home_bp, mairie_bp, admin_bp, api_bp, support_bp):
        app.register_blueprint(bp)
    for service in registry.all():  # the portal's CSRF does not apply to token-authenticated JSON APIs
        if service.api_blueprint is not None:
            csrf.exempt(service.api_blueprint)
    csrf.exempt(api_bp)

    @app.before_request
    def _csrf_for_session_api_calls():
        # JSON APIs are exempt from the form CSRF check for token clients; a browser session calling an unsafe
        # method must still send the CSRF token (X-CSRFToken header).
        from .context import is_api_path

        if request.method not in ("GET", "HEAD", "OPTIONS") and is_api_path(request.path) \
                and not g.get("api_token_auth") and current_user.is_authenticated:
            csrf.protect()


def _register_healthz(app: Flask) -> None:
    from .dbpool import is_disconnect

    @app.get("/healthz")
    def healthz():
        for attempt in (1, 2):  # a connection the server dropped (restart) is replaced, then asked again
            try:
                # driver SQL on the session's connection: no ORM execution (territory criteria, statement cache) for
                # a statement that reads no table; a dropped connection still goes through SQLAlchemy's handling
                db.session.connection().exec_driver_sql("SELECT 1")
                return jsonify(status="ok", database="ok")
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                if attempt == 1 and is_disconnect(exc):
                    continue
                app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503


def _register_templates(app: Flask, registry) -> None:
    """Jinja filters and globals, and what every page is given."""
    from . import typography
    from . import maps
    from .audit import ACTION_LABELS, action_label, actor_label, detail_label, detail_value
    from .urls import absolute_url

    maps.register(app)
    typography.register(app)
    app.jinja_env.globals["absolute_url"] = absolute_url  # e-mails and feeds: links from BASE_URL, never the Host
    app.jinja_env.filters["audit_action"] = action_label
    app.jinja_env.filters["audit_actor"] = actor_label
    app.jinja_env.filters["audit_detail"] = detail_label
    app.jinja_env.globals["audit_value"] = detail_value
    app.jinja_env.globals["audit_actions"] = lambda: sorted(
        ((code, str(label)) for code, label in ACTION_LABELS.items()), key=lambda item: item[1])

    def _service_nav():
        """The services' menu entries for the active collectivity (called by base.html, only on pages that show it)."""
        if not has_request_context() or not current_user.is_authenticated:
            return []
        return registry.nav_for(g.get("collectivity"), g.get("permissions", set()))

    @app.context_processor
    def _inject():
        from .permissions import role_label

        from .identity import current_identity

        ident = current_identity()
        return {
            "identity": ident,
            "portal_name": ident.portal_name,
            "active_collectivity": g.get("collectivity"),
            "active_membership": g.get("membership"),
            "permissions": g.get("permissions", set()),
            "role_label": role_label,
            "service_nav": _service_nav,
            "current_service": g.get("service"),
            "support": g.get("support"),
            "current_locale": _select_locale() if request else "fr",
        }


def error_response(code: int, message=None, headers=None):
    """The error page, or ``{"error": …}`` on the JSON APIs (portal/responses.json_error), with ``headers``."""
    from .context import is_api_path
    from .responses import json_error

    if is_api_path(request.path):
        resp, status = json_error(code, message or _status_name(code), status=code)
    else:
        resp, status = render_template("errors/http.html", code=code, message=message), code
    from flask import make_response

    resp = make_response(resp, status)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _status_name(code: int) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(code, "Error")


def _register_errors(app: Flask) -> None:
    from flask_babel import gettext as _
    from sqlalchemy.exc import DBAPIError
    from werkzeug.exceptions import HTTPException

    from .dbpool import is_disconnect
    from .tenancy import TerritoryViolation

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # Allow on 405, …
        return error_response(exc.code, getattr(exc, "portal_message", None), headers)

    @app.errorhandler(TerritoryViolation)
    def _territory(exc):
        app.logger.warning("refused write outside territory: %s", exc)
        db.session.rollback()
        return error_response(403)

    @app.errorhandler(DBAPIError)
    def _database_error(exc):
        db.session.rollback()
        if not is_disconnect(exc):
            return _unexpected(exc)
        # The server dropped the connection (restart): the pool has replaced it and every older one. A request
        # that only reads is run once more on a fresh connection; any other is answered 503, nothing half-done.
        if request.method in ("GET", "HEAD") and not g.get("database_retried"):
            app.logger.warning("database connection lost on %s %s: retried once", request.method, request.path)
            g.database_retried = True
            try:
                return app.preprocess_request() or app.dispatch_request()
            except Exception as again:  # noqa: BLE001 - handled as the first attempt would have been
                return app.handle_user_exception(again)
        app.logger.warning("database connection lost on %s %s: answered 503", request.method, request.path)
        return error_response(503, _("The service is briefly unavailable. Try again in a moment."),
                              {"Retry-After": "1"})

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(500)
