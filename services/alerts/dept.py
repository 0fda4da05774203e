"""The department's pages of the service (``/admin/s/alerts/``, the registry's ``department_blueprint``): counts per
commune and SMS allowances — never a resident.

The portal's department gate checks everything before these views run: signed in, active collectivity = the
department, and the permission of the view (``@requires``; ``collectivities.read`` when a view names none). The page
touches the communes' rows only through an explicit ``territory_scope`` (system context, counts only).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import Collectivity, ServiceActivation
from portal.registry import requires
from portal.tenancy import territory_scope

from .grammar import of_commune
from .models import Delivery, SmsQuota, Subscriber, Subscription, utcnow

department = Blueprint("alerts_department", __name__)

MAX_ALLOWANCE = 1_000_000


def overview_rows() -> list[dict]:
    """One row per commune that has the service enabled: subscribers, SMS segments used this month, allowance."""
    communes = db.session.scalars(
        select(Collectivity).join(ServiceActivation, ServiceActivation.collectivity_id == Collectivity.id)
        .where(ServiceActivation.service_slug == "alerts", ServiceActivation.enabled.is_(True),
               Collectivity.kind == "commune").order_by(Collectivity.name)).all()
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    insees = [c.insee for c in communes]
    with territory_scope(insees):  # counts only: no row of a resident leaves this block
        subscribers = dict(db.session.execute(
            select(Subscriber.commune_insee, func.count(func.distinct(Subscriber.id)))
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.unsubscribed_at.is_(None)).group_by(Subscriber.commune_insee)).all())
        used = dict(db.session.execute(
            select(Delivery.commune_insee, func.coalesce(func.sum(Delivery.billed_segments), 0))
            .where(Delivery.channel == "sms", Delivery.sent_at >= start)
            .group_by(Delivery.commune_insee)).all())
        invalid = dict(db.session.execute(
            select(Subscriber.commune_insee, func.count())
            .where((Subscriber.email_invalid != "") | (Subscriber.phone_invalid != ""))
            .group_by(Subscriber.commune_insee)).all())
        quotas = {q.commune_insee: q.monthly_segments for q in db.session.scalars(select(SmsQuota))}
    return [{"commune": c, "subscribers": int(subscribers.get(c.insee, 0)), "used": int(used.get(c.insee, 0)),
             "invalid": int(invalid.get(c.insee, 0)), "quota": quotas.get(c.insee)} for c in communes]


@department.get("/")
def overview():
    return render_template("alerts/dept.html", rows=overview_rows(),
                           can_change="collectivities.admin" in g.permissions)


@department.post("/quotas/<insee>")
@requires("collectivities.admin")
def set_quota(insee: str):
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee, Collectivity.kind == "commune"))
    if coll is None:
        abort(404)
    raw = (request.form.get("monthly_segments") or "").strip().replace(" ", "").replace("\u202f", "")
    if not raw.isdigit() or int(raw) > MAX_ALLOWANCE:
        flash(_("The allowance is a whole number of SMS segments per month."), "error")
        return redirect(url_for(".overview"))
    with territory_scope({insee}):
        q = db.session.scalar(select(SmsQuota).where(SmsQuota.commune_insee == insee))
        before = q.monthly_segments if q else None
        if q is None:
            q = SmsQuota(commune_insee=insee)
            db.session.add(q)
        q.monthly_segments, q.updated_at, q.updated_by = int(raw), utcnow(), current_user.email
        audit.record("alerts.sms_quota_set", target_type="Collectivity", target_id=coll.id, commune=coll.name,
                     monthly_segments=int(raw), previous=before)
        db.session.commit()
    flash(_("SMS allowance %(of_commune)s: %(n)d segments per month.", commune=coll.name,
            of_commune=of_commune(coll.name), n=int(raw)), "success")
    return redirect(url_for(".overview"))
