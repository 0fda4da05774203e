"""Pages of the mairie (/s/alerts/) and its JSON API (/api/v1/alerts/).

Subscribers are personal data of their commune: every view here runs behind the gate (``alerts.read`` /
``alerts.send``) and the tenancy choke point narrows every query to the active commune. Views refuse an active
collectivity that is not a commune (an EPCI has no residents list of its own).
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select

from portal import audit
from portal.extensions import db
from portal.api import register_paths
from portal.registry import requires

from . import sms as smsmod
from .delivery import commune_name, queue_alert, recipients, sms_text
from .forms import CHANNEL_LABELS, SEVERITY_LABELS, CancelForm, ComposeForm, ListForm
from .settings import setting
from .models import Alert, AlertList, Delivery, SmsQuota, Subscriber, SubscriberLocation, Subscription, utcnow

log = logging.getLogger("services.alerts")

bp = Blueprint("alerts", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")
api = Blueprint("alerts_api", __name__)

PARIS = ZoneInfo("Europe/Paris")

DEFAULT_LISTS = (
    ("Alertes de sécurité (plan communal de sauvegarde)",
     "Alertes en cas de danger : inondation, tempête, accident, consignes du plan communal de sauvegarde."),
    ("Travaux et coupures", "Travaux sur la voirie, coupures d'eau ou d'électricité, fermetures de routes."),
    ("Vie municipale", "Informations de la mairie : conseils municipaux, manifestations, horaires."),
)

STATUS_LABELS = {
    "pending": "Pending", "sending": "Sending", "sent": "Sent", "delivered": "Delivered", "failed": "Failed",
    "cancelled": "Cancelled",
}


def status_label(status: str) -> str:
    labels = {"pending": _("Pending"), "sending": _("Sending"), "sent": _("Sent, waiting for receipt"),
              "delivered": _("Delivered"), "failed": _("Failed"), "cancelled": _("Not sent"),
              "scheduled": _("Scheduled"), "queued": _("Sent")}
    return labels.get(status, status)


def reason_label(reason: str) -> str:
    labels = {"address_refused": _("Address refused by the mail server"),
              "invalid_address": _("Not a valid e-mail address: not sent"),
              "send_error": _("Could not be sent (unexpected error, recorded for the department)"),
              "invalid_number": _("Invalid or unreachable number"),
              "retries_exhausted": _("Still unreachable after several attempts"),
              "temporary": _("Temporary problem, will retry"), "unsubscribed": _("Unsubscribed in the meantime"),
              "alert_cancelled": _("Alert cancelled"), "refused": _("Refused by the SMS provider"),
              "provider_auth": _("SMS provider account refused (contact the department)"),
              "provider_config": _("SMS provider not configured (contact the department)"),
              "not_delivered": _("Not delivered by the operator"),
              "hard_bounce": _("Address does not exist (returned by the mail server)"),
              "spam_complaint": _("The resident marked the message as spam: no more e-mails"),
              "soft_bounce": _("Not delivered for now (mailbox full, phone off): will retry")}
    return labels.get(reason, reason)


@bp.app_template_global("of_commune")
def _of_commune(name):
    from .grammar import of_commune

    return of_commune(name)


@bp.app_template_filter("alert_status")
def _status_filter(status):
    return status_label(status)


@bp.app_template_filter("alert_reason")
def _reason_filter(reason):
    return reason_label(reason)


def _commune_insee() -> str:
    coll = g.get("collectivity")
    if coll is None or coll.kind != "commune" or not coll.insee:
        abort(403)
    return coll.insee


@bp.before_request
def _only_communes():
    coll = g.get("collectivity")
    if coll is not None and (coll.kind != "commune" or not coll.insee):
        return render_template("alerts/not_commune.html"), 403
    return None


api.before_request(_only_communes)


def list_counts(insee: str) -> dict[int, dict[str, int]]:
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


def alert_stats(alert_id: int) -> dict:
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


def sms_used_this_month(insee: str) -> int:
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
    quota = sms_quota(insee)
    if quota is None or needed == 0:
        return None
    left = quota - sms_used_this_month(insee) - sms_pending()
    if needed > left:
        return _("This message needs %(needed)d SMS segments but only %(left)d remain this month (allowance: "
                 "%(quota)d). Send it by e-mail only, or ask the department for more.", needed=needed,
                 left=max(left, 0), quota=quota)
    return None


@bp.get("/")
def index():
    insee = _commune_insee()
    lists = db.session.scalars(select(AlertList).order_by(AlertList.name)).all()
    counts = list_counts(insee)
    alerts = db.session.scalars(select(Alert).where(Alert.kind != "test")
                                .order_by(Alert.created_at.desc()).limit(20)).all()
    return render_template("alerts/index.html", lists=lists, counts=counts, alerts=alerts,
                           sms_used=sms_used_this_month(insee), sms_quota=sms_quota(insee),
                           list_form=ListForm(), insee=insee,
                           subscribe_url=url_for("alerts_public.subscribe", insee=insee, _external=True))


@bp.post("/listes")
@requires("alerts.send")
def add_list():
    insee = _commune_insee()
    form = ListForm()
    if not form.validate_on_submit():
        flash(_("Give the list a name and a purpose."), "error")
        return redirect(url_for(".index"))
    name = form.name.data.strip()
    if db.session.scalar(select(AlertList).where(AlertList.name == name)):
        flash(_("A list with this name already exists."), "error")
        return redirect(url_for(".index"))
    lst = AlertList(commune_insee=insee, name=name, purpose=form.purpose.data.strip())
    db.session.add(lst)
    db.session.flush()
    audit.record("alerts.list_created", target=lst, name=name)
    db.session.commit()
    flash(_("The list « %(name)s » is open to residents.", name=name), "success")
    return redirect(url_for(".index"))


@bp.post("/listes/usuelles")
@requires("alerts.send")
def add_default_lists():
    insee = _commune_insee()
    existing = set(db.session.scalars(select(AlertList.name)))
    added = 0
    for name, purpose in DEFAULT_LISTS:
        if name not in existing:
            db.session.add(AlertList(commune_insee=insee, name=name, purpose=purpose))
            added += 1
    audit.record("alerts.list_created", target_type="AlertList", name=f"{added} usual lists")
    db.session.commit()
    flash(_("%(n)d lists added.", n=added), "success")
    return redirect(url_for(".index"))


def _choices(insee: str):
    counts = list_counts(insee)
    lists = db.session.scalars(select(AlertList).where(AlertList.active.is_(True)).order_by(AlertList.name)).all()
    return [(lst.id, _("%(name)s — %(email)d by e-mail, %(sms)d by SMS", name=lst.name,
                       email=counts.get(lst.id, {}).get("email", 0), sms=counts.get(lst.id, {}).get("sms", 0)))
            for lst in lists]


def street_choices() -> list[tuple[str, str]]:
    streets = db.session.scalars(select(SubscriberLocation.street).where(SubscriberLocation.status == "found",
                                                                         SubscriberLocation.street != "")
                                 .distinct().order_by(SubscriberLocation.street)).all()
    return [(s, s) for s in streets]


def parse_zone(raw: str, streets: list[str]) -> tuple[dict | None, str | None]:
    """The zone of the form: a drawn polygon (GeoJSON, WGS84) or streets. Returns (zone, French error)."""
    import json

    raw = (raw or "").strip()
    if raw:
        try:
            geom = json.loads(raw)
            ring = geom["coordinates"][0]
            ok = (geom.get("type") == "Polygon" and len(ring) >= 4
                  and all(len(p) == 2 and -180 <= float(p[0]) <= 180 and -90 <= float(p[1]) <= 90 for p in ring))
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            return None, _("The zone drawn on the map is not a closed area: draw at least three points.")
        from shapely.geometry import shape

        if not shape(geom).is_valid:
            return None, _("The zone drawn on the map crosses itself: draw it again.")
        return {"type": "Polygon", "coordinates": [[[float(x), float(y)] for x, y in ring]]}, None
    if streets:
        return {"type": "streets", "streets": list(streets)}, None
    return None, None


def _local_to_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=PARIS).astimezone(dt.timezone.utc).replace(tzinfo=None)


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


def _earlier_alert(form: ComposeForm) -> tuple[Alert | None, str]:
    """The alert an update or end of alert follows (``?reference=&type=`` on the first page, hidden fields after)."""
    ref = request.args.get("reference") if request.method == "GET" else form.reference_id.data
    if not ref:
        return None, "alert"
    msg_type = (request.args.get("type") if request.method == "GET" else form.msg_type.data) or "update"
    if msg_type not in ("update", "cancel") or not str(ref).isdigit():
        abort(404)
    earlier = db.session.scalar(select(Alert).where(Alert.id == int(ref), Alert.kind == "broadcast"))
    if earlier is None:  # unknown, or another commune's (the choke point hides it)
        abort(404)
    return earlier, msg_type


@bp.route("/alertes/nouvelle", methods=["GET", "POST"])
@requires("alerts.send")
def compose():
    import json

    insee = _commune_insee()
    form = ComposeForm()
    form.lists.choices = _choices(insee)
    form.streets.choices = street_choices()
    commune = commune_name(insee)
    preview = None
    earlier, msg_type = _earlier_alert(form)
    if earlier is not None:
        problem = follow_up_problem(earlier, msg_type)
        if problem:
            flash(problem, "error")
            return redirect(url_for(".alert_detail", alert_id=earlier.id))
        if request.method == "GET":
            form.reference_id.data, form.msg_type.data = str(earlier.id), msg_type
            form.title.data = (_("Update: %(title)s", title=earlier.title) if msg_type == "update"
                               else _("End of alert: %(title)s", title=earlier.title))[:200]
            form.severity.data = earlier.severity
            form.channels.data = list(earlier.channels or [])
            form.lists.data = list(earlier.list_ids or [])
            zone = earlier.zone or {}
            if zone.get("type") == "Polygon":
                form.zone.data = json.dumps(zone)
            elif zone.get("type") == "streets":
                form.streets.data = list(zone.get("streets") or [])
    price = float(setting("ALERTS_SMS_PRICE") or 0.05)
    if request.method == "POST" and form.validate_on_submit():
        draft = Alert(commune_insee=insee, kind="broadcast", title=form.title.data.strip(),
                      body=form.body.data.strip(), severity=form.severity.data, channels=form.channels.data,
                      list_ids=form.lists.data)
        text = sms_text(draft, commune)
        count = smsmod.segments(text)
        zone, zone_problem = parse_zone(form.zone.data, form.streets.data or [])
        draft.zone = zone
        targets = recipients(insee, form.lists.data, form.channels.data, zone=zone) if not zone_problem else []
        n_sms = sum(1 for t in targets if t[1] == "sms")
        n_email = len(targets) - n_sms
        errors = [zone_problem] if zone_problem else []
        if "sms" in form.channels.data and count.segments > smsmod.MAX_SEGMENTS:
            errors.append(_("The SMS would take %(n)d segments; the limit is %(max)d. Shorten the message.",
                            n=count.segments, max=smsmod.MAX_SEGMENTS))
        scheduled = None
        if form.scheduled_at.data:
            scheduled = _local_to_utc(form.scheduled_at.data)
            if scheduled <= utcnow():
                errors.append(_("The sending time is in the past."))
        quota_problem = quota_error(insee, n_sms * count.segments) if "sms" in form.channels.data else None
        if quota_problem and not form.test.data:
            errors.append(quota_problem)
        if form.test.data:
            if errors:
                for e in errors:
                    flash(e, "error")
            else:
                test = Alert(commune_insee=insee, kind="test", title=draft.title, body=draft.body,
                             severity=draft.severity, channels=["email"], list_ids=draft.list_ids,
                             author_id=current_user.id, author_name=current_user.email, sent_at=utcnow())
                db.session.add(test)
                queue_alert(test, [(None, "email", current_user.email)])
                db.session.commit()
                flash(_("A test e-mail was sent to %(email)s.", email=current_user.email), "success")
        elif form.send.data:
            if not targets and zone and not zone_problem:
                errors.append(_("Nobody would receive this alert: no confirmed subscriber of these lists lives in "
                                "the zone."))
            elif not targets and not zone_problem:
                errors.append(_("Nobody would receive this alert: the chosen lists have no confirmed subscriber "
                                "on these channels."))
            if errors:
                for e in errors:
                    flash(e, "error")
            else:
                draft.author_id, draft.author_name = current_user.id, current_user.email
                if earlier is not None:
                    draft.msg_type, draft.references_id = msg_type, earlier.id
                draft.scheduled_at = scheduled
                draft.status = "scheduled" if scheduled else "queued"
                draft.sent_at = None if scheduled else utcnow()
                db.session.add(draft)
                n = queue_alert(draft, targets)
                audit.record("alerts.alert_sent", target=draft, title=draft.title, recipients=n,
                             zone=(zone or {}).get("type"),
                             channels=",".join(draft.channels), scheduled=scheduled.isoformat() if scheduled else None,
                             msg_type=draft.msg_type if earlier is not None else None,
                             references=earlier.id if earlier is not None else None)
                db.session.commit()
                if scheduled:
                    flash(_("The alert is scheduled."), "success")
                else:
                    flash(_("The alert is being sent to %(n)d recipients.", n=n), "success")
                return redirect(url_for(".alert_detail", alert_id=draft.id))
        preview = {"sms": text, "segments": count, "n_sms": n_sms, "n_email": n_email,
                   "cost": n_sms * count.segments * price, "errors": errors,
                   "email_subject": f"{commune} — {draft.title}", "email_body": draft.body}
    elif request.method == "POST":
        for field in form:
            for e in field.errors:
                flash(e, "error")
    return render_template("alerts/compose.html", form=form, preview=preview, commune=commune, price=price,
                           earlier=earlier, msg_type=msg_type,
                           max_segments=smsmod.MAX_SEGMENTS, stop=sms_text(Alert(body="", kind="broadcast"),
                                                                          commune))


def _alert_or_404(alert_id: int) -> Alert:
    alert = db.session.scalar(select(Alert).where(Alert.id == alert_id, Alert.kind != "test"))
    if alert is None:
        abort(404)
    return alert


@bp.get("/alertes/<int:alert_id>")
def alert_detail(alert_id: int):
    alert = _alert_or_404(alert_id)
    stats = alert_stats(alert.id)
    lists = db.session.scalars(select(AlertList.name).where(AlertList.id.in_(alert.list_ids or [-1]))).all()
    followers = db.session.scalars(select(Alert).where(Alert.references_id == alert.id)
                                   .order_by(Alert.created_at)).all()
    return render_template("alerts/alert.html", alert=alert, stats=stats, lists=lists, cancel_form=CancelForm(),
                           channel_labels=CHANNEL_LABELS, severity_labels=SEVERITY_LABELS, followers=followers,
                           follow_up_problem=follow_up_problem(alert, "update") if alert.kind == "broadcast" else "")


@bp.post("/alertes/<int:alert_id>/annuler")
@requires("alerts.send")
def cancel(alert_id: int):
    alert = _alert_or_404(alert_id)
    form = CancelForm()
    if not form.validate_on_submit() or alert.status != "scheduled":
        flash(_("Only an alert that is still scheduled can be cancelled."), "error")
        return redirect(url_for(".alert_detail", alert_id=alert.id))
    alert.status = "cancelled"
    for d in db.session.scalars(select(Delivery).where(Delivery.alert_id == alert.id,
                                                       Delivery.status == "pending")):
        d.status, d.failure_reason = "cancelled", "alert_cancelled"
    audit.record("alerts.alert_cancelled", target=alert, title=alert.title)
    db.session.commit()
    flash(_("The alert is cancelled: nothing will be sent."), "success")
    return redirect(url_for(".alert_detail", alert_id=alert.id))


@bp.get("/abonnes")
def subscribers():
    insee = _commune_insee()
    subs = db.session.scalars(select(Subscriber).order_by(Subscriber.created_at.desc())).all()
    audit.record("alerts.subscribers_viewed", target_type="Subscriber", count=len(subs), commune=insee)
    db.session.commit()
    return render_template("alerts/subscribers.html", subs=subs, display_phone=smsmod.display_phone)


# JSON API ------------------------------------------------------------------------------------------------------------

def _alert_json(alert: Alert) -> dict:
    return {"id": alert.id, "kind": alert.kind, "title": alert.title, "severity": alert.severity,
            "status": alert.status, "channels": list(alert.channels or []), "list_ids": list(alert.list_ids or []),
            "zone": (alert.zone or {}).get("type"), "sms_segments": alert.sms_segments,
            "msg_type": alert.msg_type or "alert", "references": alert.references_id,
            "created_at": alert.created_at.isoformat() + "Z" if alert.created_at else None,
            "scheduled_at": alert.scheduled_at.isoformat() + "Z" if alert.scheduled_at else None,
            "sent_at": alert.sent_at.isoformat() + "Z" if alert.sent_at else None}


@api.get("/alertes")
def api_alerts():
    """The commune's alerts and individual messages, newest first (no recipient: counts are in /suivi)."""
    _commune_insee()
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 200)
    except ValueError:
        return jsonify(error="Bad Request", status=400, message="limit must be a whole number (1-200)"), 400
    alerts = db.session.scalars(select(Alert).where(Alert.kind != "test")
                                .order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)).all()
    return jsonify(alerts=[_alert_json(a) for a in alerts])


@api.get("/alertes/<int:alert_id>/suivi")
def api_stats(alert_id: int):
    alert = _alert_or_404(alert_id)
    return jsonify(id=alert.id, status=alert.status, **alert_stats(alert.id))


@api.get("/carte")
def api_map():
    """What the zone map draws: the commune's boundary and the geocoded subscribers' points (no names, no
    addresses), with the lists each point is subscribed to."""
    import json

    insee = _commune_insee()
    coll = g.get("collectivity")
    rows = db.session.execute(
        select(SubscriberLocation.latitude, SubscriberLocation.longitude, Subscription.list_id)
        .join(Subscriber, Subscriber.id == SubscriberLocation.subscriber_id)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(SubscriberLocation.status == "found", Subscription.unsubscribed_at.is_(None))).all()
    points: dict = {}
    for lat, lon, list_id in rows:
        points.setdefault((round(lat, 6), round(lon, 6)), set()).add(list_id)
    return jsonify(commune=insee, boundary=json.loads(coll.boundary_geojson) if coll.boundary_geojson else None,
                   points=[{"lat": k[0], "lon": k[1], "lists": sorted(v)} for k, v in points.items()])


@api.post("/segments")
def api_segments():
    data = request.get_json(silent=True) or {}
    text = str(data.get("text", ""))
    return jsonify(smsmod.segments(text).as_dict())


# The API in the portal's OpenAPI document (/api/v1/openapi.json). Schemas are inline JSON Schema, so a test can
# check the real answers against them.

def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


_CHANNEL_STATS = {"type": "object", "required": ["total", "delivered", "failed", "pending", "sent", "cancelled",
                                                 "percent"],
                  "properties": {k: {"type": "integer", "minimum": 0} for k in
                                 ("total", "delivered", "failed", "pending", "sent", "cancelled", "percent")}}
ALERT_SCHEMA = {
    "type": "object", "required": ["id", "kind", "title", "severity", "status", "channels"],
    "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["broadcast", "individual"]},
        "title": {"type": "string"}, "severity": {"type": "string", "enum": ["info", "minor", "moderate", "severe",
                                                                             "extreme"]},
        "status": {"type": "string", "enum": ["scheduled", "queued", "cancelled"]},
        "channels": {"type": "array", "items": {"type": "string", "enum": ["email", "sms"]}},
        "list_ids": {"type": "array", "items": {"type": "integer"}},
        "zone": {"type": ["string", "null"], "enum": ["Polygon", "streets", None],
                 "description": "the alert went to a drawn zone or to streets only"},
        "sms_segments": {"type": "integer", "description": "segments of one SMS of this alert"},
        "msg_type": {"type": "string", "enum": ["alert", "update", "cancel"],
                     "description": "CAP msgType: a new alert, an update of an earlier one, its end"},
        "references": {"type": ["integer", "null"], "description": "id of the earlier alert (update, cancel)"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "scheduled_at": {"type": ["string", "null"], "format": "date-time"},
        "sent_at": {"type": ["string", "null"], "format": "date-time"}}}
STATS_SCHEMA = {
    "type": "object", "required": ["id", "status", "channels", "failures"],
    "properties": {
        "id": {"type": "integer"}, "status": {"type": "string"},
        "channels": {"type": "object", "properties": {"email": _CHANNEL_STATS, "sms": _CHANNEL_STATS},
                     "additionalProperties": False},
        "failures": {"type": "array", "items": {"type": "object", "required": ["channel", "reason", "count"],
                                                "properties": {"channel": {"type": "string"},
                                                               "reason": {"type": "string"},
                                                               "label": {"type": "string"},
                                                               "count": {"type": "integer"}}}}}}
MAP_SCHEMA = {
    "type": "object", "required": ["commune", "boundary", "points"],
    "properties": {
        "commune": {"type": "string", "pattern": "^[0-9AB]{5}$"},
        "boundary": {"type": ["object", "null"], "description": "GeoJSON geometry of the commune (WGS84)"},
        "points": {"type": "array", "items": {
            "type": "object", "required": ["lat", "lon", "lists"], "additionalProperties": False,
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                           "lists": {"type": "array", "items": {"type": "integer"}}}}}}}
SEGMENTS_SCHEMA = {
    "type": "object", "required": ["encoding", "units", "segments", "per_segment", "non_gsm"],
    "properties": {"encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                   "units": {"type": "integer"}, "segments": {"type": "integer"},
                   "per_segment": {"type": "integer"},
                   "non_gsm": {"type": "array", "items": {"type": "string"}}}}
_ERRORS = {"401": {"description": "not signed in, no token"},
           "403": {"description": "the service is not open to the active collectivity, or it is not a commune"}}

OPENAPI_PATHS = {
    "/alerts/alertes": {"get": {
        "summary": "Alerts and individual messages of the active commune, newest first (no recipient)",
        "tags": ["alerts"],
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                                   "default": 50}}],
        "responses": {"200": {"description": "alerts", **_json({"type": "object", "required": ["alerts"],
                                                               "properties": {"alerts": {"type": "array",
                                                                                         "items": ALERT_SCHEMA}}})},
                      "400": {"description": "bad limit"}, **_ERRORS}}},
    "/alerts/alertes/{alert_id}/suivi": {"get": {
        "summary": "Delivery follow-up of one alert: delivered / failed / pending per channel, failures by reason",
        "tags": ["alerts"],
        "parameters": [{"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "counts per channel", **_json(STATS_SCHEMA)},
                      "404": {"description": "no such alert in your commune"}, **_ERRORS}}},
    "/alerts/carte": {"get": {
        "summary": "The commune's boundary and its geocoded subscribers as bare points with their lists (for the "
                   "zone map; no name, no address)",
        "tags": ["alerts"],
        "responses": {"200": {"description": "boundary and points", **_json(MAP_SCHEMA)}, **_ERRORS}}},
    "/alerts/segments": {"post": {
        "summary": "Count the SMS segments of a text (GSM 03.38 7-bit or UCS-2)",
        "tags": ["alerts"],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["text"],
                                                   "properties": {"text": {"type": "string"}}})},
        "responses": {"200": {"description": "encoding, units, segments", **_json(SEGMENTS_SCHEMA)},
                      "400": {"description": "a browser session without its CSRF token (X-CSRFToken)"}, **_ERRORS}}},
}
register_paths(OPENAPI_PATHS)
