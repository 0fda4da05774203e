"""What the pages and the API read and count: subscribers per list, the follow-up of an alert, SMS used against
the allowance, the points of the zone map. Reads only, in the active territory (the tenancy choke point narrows
every query); writes are in :mod:`operations`."""
from __future__ import annotations

import json

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from portal.extensions import db
from portal.models import Collectivity, ServiceActivation
from portal.tenancy import territory_scope

from .labels import reason_label
from .models import (Alert, AlertList, Delivery, SmsQuota, Subscriber, SubscriberLocation, Subscription,
                     utcnow)
from portal.settings import setting


def list_counts() -> dict[int, dict[str, int]]:
    """Active confirmed subscribers per list and channel."""
    rows = db.session.execute(
        select(Subscription.list_id,
               func.sum(case((Subscriber.email_confirmed_at.is_not(None) & (Subscriber.email_invalid == ""), 1),
                             else_=0)),
               func.sum(case((Subscriber.phone_confirmed_at.is_not(None) & (Subscriber.phone_invalid == ""), 1),
                             else_=0)),
               func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.unsubscribed_at.is_(None))
        .group_by(Subscription.list_id)).all()
    return {r[0]: {"email": int(r[1] or 0), "sms": int(r[2] or 0), "total": int(r[3] or 0)} for r in rows}


def list_choices() -> list[tuple[int, str]]:
    """The open lists as choices of the compose form, with their confirmed subscribers per channel."""
    from portal.typography import number

    counts = list_counts()
    lists = db.session.scalars(select(AlertList).where(AlertList.active.is_(True)).order_by(AlertList.name)).all()
    return [(lst.id, _("%(name)s — %(email)s by e-mail, %(sms)s by SMS", name=lst.name,
                       email=number(counts.get(lst.id, {}).get("email", 0)),
                       sms=number(counts.get(lst.id, {}).get("sms", 0))))
            for lst in lists]


def street_choices() -> list[tuple[str, str]]:
    streets = db.session.scalars(select(SubscriberLocation.street).where(SubscriberLocation.status == "found",
                                                                         SubscriberLocation.street != "")
                                 .distinct().order_by(SubscriberLocation.street)).all()
    return [(s, s) for s in streets]


def alert_stats(alert_id: int) -> dict:
    """Deliveries of one alert per channel and status, and its failures by reason."""
    rows = db.session.execute(select(Delivery.channel, Delivery.status, func.count())
                              .where(Delivery.alert_id == alert_id)
                              .group_by(Delivery.channel, Delivery.status)).all()
    out: dict = {}
    for channel, status, n in rows:
        c = out.setdefault(channel, {"total": 0, "delivered": 0, "failed": 0, "pending": 0, "sent": 0,
                                     "cancelled": 0})
        c["total"] += n
        key = "pending" if status in ("pending", "sending") else status
        c[key] = c.get(key, 0) + n
    for c in out.values():
        c["percent"] = int(100 * c["delivered"] / c["total"]) if c["total"] else 0
    reasons = db.session.execute(select(Delivery.channel, Delivery.failure_reason, func.count())
                                 .where(Delivery.alert_id == alert_id, Delivery.status == "failed")
                                 .group_by(Delivery.channel, Delivery.failure_reason)).all()
    return {"channels": out, "failures": [{"channel": c, "reason": r, "label": reason_label(r), "count": n}
                                          for c, r, n in reasons]}


def sms_used_this_month() -> int:
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(db.session.scalar(select(func.coalesce(func.sum(Delivery.billed_segments), 0))
                                 .where(Delivery.channel == "sms", Delivery.sent_at >= start)) or 0)


def sms_pending() -> int:
    """Segments already queued (pending or being sent, a soft bounce waiting to go again): they will count against
    the allowance."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Delivery.segments), 0))
                                 .where(Delivery.channel == "sms", Delivery.status.in_(("pending", "sending")))) or 0)


def sms_quota(insee: str) -> int | None:
    """The monthly allowance in segments; None when the department set none (then ALERTS_DEFAULT_SMS_QUOTA)."""
    q = db.session.scalar(select(SmsQuota).where(SmsQuota.commune_insee == insee))
    if q is not None:
        return q.monthly_segments
    default = setting("ALERTS_DEFAULT_SMS_QUOTA")
    return int(default) if default not in (None, "") else None


def quota_error(insee: str, needed: int) -> str | None:
    """Why ``needed`` more SMS segments would exceed the commune's allowance this month (French), or None."""
    quota = sms_quota(insee)
    if quota is None or needed == 0:
        return None
    left = quota - sms_used_this_month() - sms_pending()
    if needed > left:
        return _("This message needs %(needed)d SMS segments but only %(left)d remain this month (allowance: "
                 "%(quota)d). Send it by e-mail only, or ask the department for more.", needed=needed,
                 left=max(left, 0), quota=quota)
    return None


def follow_up_problem(earlier: Alert, msg_type: str) -> str | None:
    """Why this alert cannot be updated or ended (French), or None."""
    if earlier.kind != "broadcast" or earlier.status != "queued":
        return _("Only an alert that was sent can be updated or ended. A scheduled alert is cancelled, then "
                 "written again.")
    if earlier.msg_type == "cancel":
        return _("This message already ends an alert: send a new alert instead.")
    if db.session.scalar(select(Alert.id).where(Alert.references_id == earlier.id, Alert.msg_type == "cancel",
                                                Alert.status.in_(("queued", "scheduled")))):
        return _("This alert is already over: send a new alert instead.")
    return None


def map_points(insee: str, boundary_geojson: str | None) -> dict:
    """What the zone map draws: the commune's boundary and the geocoded subscribers' points (no names, no
    addresses), with the lists each point is subscribed to."""
    rows = db.session.execute(
        select(SubscriberLocation.latitude, SubscriberLocation.longitude, Subscription.list_id)
        .join(Subscriber, Subscriber.id == SubscriberLocation.subscriber_id)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(SubscriberLocation.status == "found", Subscription.unsubscribed_at.is_(None))).all()
    points: dict = {}
    for lat, lon, list_id in rows:
        points.setdefault((round(lat, 6), round(lon, 6)), set()).add(list_id)
    return {"commune": insee, "boundary": json.loads(boundary_geojson) if boundary_geojson else None,
            "points": [{"lat": k[0], "lon": k[1], "lists": sorted(v)} for k, v in points.items()]}


def public_alerts() -> list[Alert]:
    """The list alerts a commune publishes (CAP, Atom, its public page), newest first."""
    return db.session.scalars(select(Alert).where(Alert.kind == "broadcast", Alert.status.in_(("queued", "sent")))
                              .order_by(Alert.sent_at.desc()).limit(50)).all()


def list_names(alert: Alert) -> list[str]:
    return list(db.session.scalars(select(AlertList.name).where(AlertList.id.in_(alert.list_ids or [-1]))))


def department_overview() -> list[dict]:
    """One row per commune that has the service enabled: subscribers, SMS segments used this month, allowance —
    counts only, read in an explicit territory scope (system context): no row of a resident leaves this function."""
    communes = db.session.scalars(
        select(Collectivity).join(ServiceActivation, ServiceActivation.collectivity_id == Collectivity.id)
        .where(ServiceActivation.service_slug == "alerts", ServiceActivation.enabled.is_(True),
               Collectivity.kind == "commune").order_by(Collectivity.name)).all()
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with territory_scope([c.insee for c in communes]):
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
