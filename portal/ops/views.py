"""``/healthz/deep`` (JSON, for operators and their monitoring), ``/metrics`` (Prometheus) and the department's
« Exploitation » page (the same checks, the backup runs)."""
from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, \
    url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import csrf, db

bp = Blueprint("ops", __name__)


def _from_loopback() -> bool:
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _token_ok() -> bool:
    expected = current_app.config.get("OPS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    return bool(expected) and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip(), expected)


def _department_staff() -> bool:
    return current_user.is_authenticated and "collectivities.read" in g.get("permissions", set()) \
        and g.get("support") is None


def operator_allowed() -> bool:
    """A tool with OPS_TOKEN, a process on this host (loopback, past the trusted proxies), or department staff."""
    return _token_ok() or _from_loopback() or _department_staff()


@bp.get("/healthz/deep")
def healthz_deep():
    from .health import deep

    if not operator_allowed():
        abort(404)  # not advertised to the public
    report = deep()
    return jsonify(report), (503 if report["status"] == "error" else 200)


@bp.get("/metrics")
def metrics():
    from .metrics import exposition

    if not (_token_ok() or _from_loopback()):
        abort(404)
    body, content_type = exposition()
    return Response(body, content_type=content_type)


@bp.get("/admin/exploitation")
def dashboard():
    from .health import deep
    from .models import BackupRun

    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if g.get("support") is not None:
        flash(_("You are in support mode on %(name)s: leave it to go back to the department's pages.",
                name=g.support.collectivity.name), "warning")
        return redirect(url_for("home.index"))
    if "collectivities.read" not in g.permissions:
        abort(403)
    runs = db.session.scalars(select(BackupRun).order_by(BackupRun.id.desc()).limit(15)).all()
    failures = {run.id: copy_failure(run.error) for run in runs if run.status == "copy_failed"}
    return render_template("ops/dashboard.html", report=deep(), runs=runs, copy_failures=failures)


def copy_failure(error: str) -> str:
    """The French sentence for a failed copy (the English detail of portal/ops/remote.py follows on the page)."""
    if "keys are refused" in error or "no S3 keys" in error:
        return _("The archive is kept on this server, but the storage refused the keys (access key or secret key "
                 "wrong, or without rights on the bucket): check BACKUP_S3_ACCESS_KEY_ID and "
                 "BACKUP_S3_SECRET_ACCESS_KEY.")
    if "does not exist there" in error:
        return _("The archive is kept on this server, but the bucket does not exist at this storage: create it or "
                 "check BACKUP_S3_BUCKET.")
    if "cannot be reached" in error or "cannot write the copy" in error:
        return _("The archive is kept on this server, but the copy destination cannot be reached.")
    return _("The archive is kept on this server, but its copy failed.")


def register(app) -> None:
    csrf.exempt(bp)  # GET only
    app.register_blueprint(bp)
