"""The department's view of the service: counts per commune and SMS allowances — never a resident.

The portal mounts only three blueprints per service (pages behind the gate, API, public pages), and the gate asks the
*active collectivity* to have subscribed to the service, which the department itself never does. These two pages are
therefore on the public blueprint and check by themselves: signed in, active collectivity = the department,
``collectivities.read`` to see, ``collectivities.admin`` to change an allowance.
"""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import Collectivity, ServiceActivation
from portal.tenancy import territory_scope

from .grammar import of_commune
from .models import Delivery, SmsQuota, Subscriber, Subscription, utcnow
from .public import public


def _department_staff(permission: str):
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    coll = g.get("collectivity")
    if coll is None or coll.kind != "department" or permission not in g.get("permissions", set()):
        abort(403)
    return None


@public.get("/departement/")
def dept_overview():
    refused = _department_staff("collectivities.read")
    if refused is not None:
        return refused
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
            select(Delivery.commune_insee, func.coalesce(func.sum(Delivery.segments), 0))
            .where(Delivery.channel == "sms", Delivery.status.in_(("sent", "delivered")), Delivery.sent_at >= start)
            .group_by(Delivery.commune_insee)).all())
        quotas = {q.commune_insee: q.monthly_segments for q in db.session.scalars(select(SmsQuota))}
    rows = [{"commune": c, "subscribers": int(subscribers.get(c.insee, 0)), "used": int(used.get(c.insee, 0)),
             "quota": quotas.get(c.insee)} for c in communes]
    return render_template("alerts/dept.html", rows=rows, can_change="collectivities.admin" in g.permissions)


@public.post("/departement/quotas/<insee>")
def dept_set_quota(insee: str):
    refused = _department_staff("collectivities.admin")
    if refused is not None:
        return refused
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except ValidationError:
        abort(400)
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee, Collectivity.kind == "commune"))
    if coll is None:
        abort(404)
    raw = (request.form.get("monthly_segments") or "").strip()
    if not raw.isdigit() or int(raw) > 1_000_000:
        flash(_("The allowance is a whole number of SMS segments per month."), "error")
        return redirect(url_for(".dept_overview"))
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
    flash(_("SMS allowance %(of_commune)s: %(n)d segments per month.", commune=coll.name, of_commune=of_commune(coll.name), n=int(raw)), "success")
    return redirect(url_for(".dept_overview"))
