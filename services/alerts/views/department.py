"""The department's pages of the service (``/admin/s/alerts/``, the registry's ``department_blueprint``): counts per
commune and SMS allowances — never a resident.

The portal's department gate checks everything before these views run: signed in, active collectivity = the
department, and the permission of the view (``@requires``; ``collectivities.read`` when a view names none). The page
touches the communes' rows only through an explicit ``territory_scope`` (system context, counts only).
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.registry import requires
from portal.tenancy import territory_scope
from portal.typography import de, number

from .. import access, operations, queries

department_bp = Blueprint("alerts_department", __name__)

MAX_ALLOWANCE = 1_000_000


@department_bp.get("/")
def overview():
    return render_template("alerts/department.html", rows=queries.department_overview(),
                           can_change="collectivities.admin" in g.permissions)


@department_bp.post("/quotas/<insee>")
@requires("collectivities.admin")
def set_quota(insee: str):
    coll = access.department_commune_or_404(insee)
    raw = (request.form.get("monthly_segments") or "").strip()
    for space in (" ", "\u202f", "\u00a0"):
        raw = raw.replace(space, "")
    if not raw.isdigit() or int(raw) > MAX_ALLOWANCE:
        flash(_("The allowance is a whole number of SMS segments per month."), "error")
        return redirect(url_for(".overview"))
    with territory_scope({insee}):
        operations.set_sms_quota(coll, int(raw), current_user.email)
        db.session.commit()
    flash(_("SMS allowance %(of_commune)s: %(n)s segments per month.", of_commune=de(coll.name),
            n=number(int(raw))), "success")
    return redirect(url_for(".overview"))
