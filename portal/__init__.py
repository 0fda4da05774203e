"""Extranet des collectivités — the portal: app factory, auth, tenancy, service registry, administration."""
from __future__ import annotations

import logging
import os

from flask import Flask, g, has_request_context, jsonify, render_template, request, session
from flask_login import current_user
from sqlalchemy import text

from .config import load_config
from .extensions import babel, csrf, db, login_manager, migrate


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
    config = load_config()
    if overrides:
        config.update(overrides)
    app = Flask(__name__, instance_path=config["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(config)

    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("weasyprint", "fontTools"):  # page-by-page progress of every PDF
        logging.getLogger(noisy).setLevel(logging.WARNING)

    db.init_app(app)
    from .dbpool import install_idle_ping, install_read_only_commit

    with app.app_context():
        if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            install_idle_ping(db.engine, app.config["DB_PING_AFTER_IDLE"])
        install_read_only_commit(app, db)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from . import models  # noqa: F401 - register models
    from . import audiences, tenancy

    tenancy.install()
    audiences.install()

    from .context import init_context

    init_context(app)  # before the service gate, which reads the context it sets

    from .registry import Registry

    registry = Registry()  # this app's own services (portal.registry.registry is a proxy to it)
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
            folder = os.path.join(bp.root_path, "translations") if bp is not None else None
            if folder and os.path.isdir(folder) and folder not in babel_cfg.translation_directories:
                babel_cfg.translation_directories.append(folder)

    from .tasks import init_celery

    init_celery(app)
    from . import mail  # noqa: F401 - registers the outbox listeners and tasks

    from .security import init_headers

    init_headers(app)

    from .auth import bp as auth_bp
    from .home import bp as home_bp
    from .mairie import bp as mairie_bp
    from .admin import bp as admin_bp
    from .api import bp as api_bp
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
        from flask import g as _g

        from .context import is_api_path

        if request.method not in ("GET", "HEAD", "OPTIONS") and is_api_path(request.path) \
                and not _g.get("api_token_auth") and current_user.is_authenticated:
            csrf.protect()

    from .cli import register_cli

    register_cli(app)

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            app.logger.exception("health check: database unreachable")
            db.session.rollback()
            return jsonify(status="error", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    _register_errors(app)

    from . import typography

    typography.register(app)

    from .audit import ACTION_LABELS, action_label, detail_label, detail_value

    app.jinja_env.filters["audit_action"] = action_label
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

        return {
            "portal_name": app.config["PORTAL_NAME"],
            "active_collectivity": g.get("collectivity"),
            "active_membership": g.get("membership"),
            "permissions": g.get("permissions", set()),
            "role_label": role_label,
            "service_nav": _service_nav,
            "current_service": g.get("service"),
            "support": g.get("support"),
            "current_locale": _select_locale() if request else "fr",
        }

    return app


def _register_errors(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    from .tenancy import TerritoryViolation

    from .context import is_api_path

    def _wants_json() -> bool:
        return is_api_path(request.path)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if _wants_json():
            return jsonify(error=exc.name, status=exc.code), exc.code
        return render_template("errors/http.html", code=exc.code), exc.code

    @app.errorhandler(TerritoryViolation)
    def _territory(exc):
        app.logger.warning("refused write outside territory: %s", exc)
        db.session.rollback()
        if _wants_json():
            return jsonify(error="Forbidden", status=403), 403
        return render_template("errors/http.html", code=403), 403

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if _wants_json():
            return jsonify(error="Internal Server Error", status=500), 500
        return render_template("errors/http.html", code=500), 500

