"""Per-request context: the signed-in user, the active collectivity, permissions and territory.

The active collectivity lives in the session (``active_collectivity_id``) and must be one of the user's
memberships; it is re-checked on every request, so a removed membership takes effect at once.
"""
from __future__ import annotations

import re

from flask import Flask, g, request, session
from flask_login import current_user


from . import tenancy
from .grants import granted_request
from . import usercontext
from .extensions import login_manager
from .models import User
from .permissions import DEPARTMENT_ROLES, membership_permissions


_SERVICE_API = re.compile(r"^/s/[^/]+/api/")


def is_api_path(path: str) -> bool:
    """JSON endpoints: the portal API under /api/ and each service's under /s/<slug>/api/."""
    return path.startswith("/api/") or bool(_SERVICE_API.match(path))


@login_manager.user_loader
def _load_user(user_id: str):
    uid, _, version = user_id.partition(":")
    if not uid.isdigit():
        return None
    user = usercontext.load(int(uid))  # one statement for the whole context (portal/usercontext.py)
    if user is None or not user.is_active or str(user.session_version) != version:
        return None
    return user


@login_manager.request_loader
def _load_from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer ") or not is_api_path(req.path):
        return None
    from .security import user_from_api_token

    user = user_from_api_token(header[7:].strip())
    if user is not None:
        g.api_token_auth = True
    return user


@login_manager.unauthorized_handler
def _unauthorized():
    from flask import jsonify, redirect, url_for

    if is_api_path(request.path):
        return jsonify(error="Unauthorized", status=401), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def choose_membership(user: User, wanted_id: int | None):
    if wanted_id is not None:
        m = user.membership_for(wanted_id)
        if m is not None:
            return m
    return user.memberships[0] if user.memberships else None


def init_context(app: Flask) -> None:
    @app.before_request
    def _set_context():
        g.collectivity = None
        g.membership = None
        g.permissions = set()
        g.support = None
        tenancy.activate(frozenset())
        if request.endpoint == "static" or granted_request() or not current_user.is_authenticated:
            return  # a grant (portal.grants) is checked by the service gate instead of a user
        if not g.get("api_token_auth"):
            from .support import apply as apply_support

            if apply_support(current_user):  # the department's support mode: one collectivity, read-only
                tenancy.activate(g.collectivity.territory())
                return
        wanted = request.headers.get("X-Collectivity") if g.get("api_token_auth") else None
        wanted_id = int(wanted) if wanted and wanted.isdigit() else session.get("active_collectivity_id")
        membership = choose_membership(current_user, wanted_id)
        if membership is None:
            return
        if not g.get("api_token_auth") and session.get("active_collectivity_id") != membership.collectivity_id:
            session["active_collectivity_id"] = membership.collectivity_id  # written when it changes only: an
            # unchanged session is not signed and sent again with every answer
        g.membership = membership
        g.collectivity = membership.collectivity
        g.permissions = membership_permissions(membership)
        if membership.collectivity.is_operator and membership.role in DEPARTMENT_ROLES:
            tenancy.administer(membership.collectivity)  # its staff see the collectivities they administer only
        tenancy.activate(membership.collectivity.territory())

    @app.teardown_request
    def _no_leak(exc):
        g.pop("territory", None)
        g.pop("administered_by", None)



