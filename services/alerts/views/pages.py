"""The mairie's pages (``/s/alerts/``): lists offered to residents, composing and following alerts, subscribers.

Subscribers are personal data of their commune: every view runs behind the gate (``alerts.read`` /
``alerts.send``) and the tenancy choke point narrows every query to the active commune. The pages refuse an active
collectivity that is not a commune (the descriptor's ``collectivity_kinds``).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.registry import requires
from portal.urls import absolute_url
from portal import audit

from .. import access, operations, queries
from .. import sms as smsmod
from ..delivery import recipients
from ..zones import parse_zone
from ..messages import commune_name, sms_text
from ..forms import CHANNEL_LABELS, SEVERITY_LABELS, CancelForm, ComposeForm, ListForm
from ..labels import reason_label, status_label
from ..models import Alert, AlertList, Subscriber, utcnow
from portal.settings import setting

SERVICE_ROOT = Path(__file__).resolve().parent.parent

bp = Blueprint("alerts", __name__, root_path=str(SERVICE_ROOT), template_folder="templates",
               static_folder="static", static_url_path="/static")



@bp.app_template_filter("alert_status")
def _status_filter(status):
    return status_label(status)


@bp.app_template_filter("alert_reason")
def _reason_filter(reason):
    return reason_label(reason)


def sms_price() -> float:
    return float(setting("ALERTS_SMS_PRICE") or 0.05)


@bp.get("/")
def index():
    insee = access.commune_insee()
    lists = db.session.scalars(select(AlertList).order_by(AlertList.name)).all()
    alerts = db.session.scalars(select(Alert).where(Alert.kind != "test")
                                .order_by(Alert.created_at.desc()).limit(20)).all()
    return render_template("alerts/index.html", lists=lists, counts=queries.list_counts(), alerts=alerts,
                           sms_used=queries.sms_used_this_month(), sms_quota=queries.sms_quota(insee),
                           list_form=ListForm(), insee=insee,
                           subscribe_url=absolute_url("alerts_public.subscribe", insee=insee))


@bp.post("/listes")
@requires("alerts.send")
def add_list():
    insee = access.commune_insee()
    form = ListForm()
    if not form.validate_on_submit():
        flash(_("Give the list a name and a purpose."), "error")
        return redirect(url_for(".index"))
    try:
        lst = operations.add_list(insee, form.name.data, form.purpose.data)
    except operations.Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    flash(_("The list « %(name)s » is open to residents.", name=lst.name), "success")
    return redirect(url_for(".index"))


@bp.post("/listes/usuelles")
@requires("alerts.send")
def add_default_lists():
    added = operations.add_default_lists(access.commune_insee())
    db.session.commit()
    flash(_("%(n)d lists added.", n=added), "success")
    return redirect(url_for(".index"))


def _local_to_utc(value: dt.datetime) -> dt.datetime:
    from portal.identity import from_local

    return from_local(value)  # the wall-clock time of the commune's département


def _prefill_follow_up(form: ComposeForm, earlier: Alert, msg_type: str) -> None:
    """The form of an update or end of alert starts from the earlier alert."""
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


def _draft(form: ComposeForm, insee: str, commune: str) -> dict:
    """The alert the form describes, its recipients, SMS count and what prevents sending it (French)."""
    draft = Alert(commune_insee=insee, kind="broadcast", title=form.title.data.strip(),
                  body=form.body.data.strip(), severity=form.severity.data, channels=form.channels.data,
                  list_ids=form.lists.data)
    count = smsmod.segments(sms_text(draft, commune))
    draft.zone, zone_problem = parse_zone(form.zone.data, form.streets.data or [])
    targets = recipients(insee, form.lists.data, form.channels.data, zone=draft.zone) if not zone_problem else []
    n_sms = sum(1 for t in targets if t[1] == "sms")
    errors = [zone_problem] if zone_problem else []
    if "sms" in form.channels.data and count.segments > smsmod.MAX_SEGMENTS:
        errors.append(_("The SMS would take %(n)d segments; the limit is %(max)d. Shorten the message.",
                        n=count.segments, max=smsmod.MAX_SEGMENTS))
    scheduled = None
    if form.scheduled_at.data:
        scheduled = _local_to_utc(form.scheduled_at.data)
        if scheduled <= utcnow():
            errors.append(_("The sending time is in the past."))
    quota_problem = queries.quota_error(insee, n_sms * count.segments) if "sms" in form.channels.data else None
    if quota_problem and not form.test.data:
        errors.append(quota_problem)
    if form.send.data and not targets and not zone_problem:
        errors.append(_("Nobody would receive this alert: no confirmed subscriber of these lists lives in the zone.")
                      if draft.zone else
                      _("Nobody would receive this alert: the chosen lists have no confirmed subscriber on these "
                        "channels."))
    return {"alert": draft, "targets": targets, "scheduled": scheduled, "errors": errors, "segments": count,
            "n_sms": n_sms, "n_email": len(targets) - n_sms, "text": sms_text(draft, commune)}


@bp.route("/alertes/nouvelle", methods=["GET", "POST"])
@requires("alerts.send")
def compose():
    insee = access.commune_insee()
    form = ComposeForm()
    form.lists.choices = queries.list_choices()
    form.streets.choices = queries.street_choices()
    commune = commune_name(insee)
    if request.method == "GET":
        earlier, msg_type = access.earlier_alert_or_404(request.args.get("reference"), request.args.get("type"))
    else:
        earlier, msg_type = access.earlier_alert_or_404(form.reference_id.data, form.msg_type.data)
    if earlier is not None:
        problem = queries.follow_up_problem(earlier, msg_type)
        if problem:
            flash(problem, "error")
            return redirect(url_for(".alert_detail", alert_id=earlier.id))
        if request.method == "GET":
            _prefill_follow_up(form, earlier, msg_type)
    preview = None
    if request.method == "POST" and form.validate_on_submit():
        d = _draft(form, insee, commune)
        if form.test.data or form.send.data:
            for e in d["errors"]:
                flash(e, "error")
        if form.test.data and not d["errors"]:
            operations.send_test(d["alert"], current_user)
            db.session.commit()
            flash(_("A test e-mail was sent to %(email)s.", email=current_user.email), "success")
        elif form.send.data and not d["errors"]:
            n = operations.send_alert(d["alert"], d["targets"], current_user, earlier=earlier, msg_type=msg_type,
                                      scheduled=d["scheduled"])
            db.session.commit()
            flash(_("The alert is scheduled.") if d["scheduled"] else
                  _("The alert is being sent to %(recipients)s.", recipients=_recipients(n)), "success")
            return redirect(url_for(".alert_detail", alert_id=d["alert"].id))
        preview = {"sms": d["text"], "segments": d["segments"], "n_sms": d["n_sms"], "n_email": d["n_email"],
                   "cost": d["n_sms"] * d["segments"].segments * sms_price(), "errors": d["errors"],
                   "email_subject": f"{commune} — {d['alert'].title}", "email_body": d["alert"].body}
    elif request.method == "POST":
        for field in form:
            for e in field.errors:
                flash(e, "error")
    return render_template("alerts/compose.html", form=form, preview=preview, commune=commune, price=sms_price(),
                           earlier=earlier, msg_type=msg_type, max_segments=smsmod.MAX_SEGMENTS,
                           stop=sms_text(Alert(body="", kind="broadcast"), commune))


def _recipients(n: int) -> str:
    from portal.typography import plural

    return plural(n, _("recipient"), _("recipients"))


@bp.get("/alertes/<int:alert_id>")
def alert_detail(alert_id: int):
    alert = access.alert_or_404(alert_id)
    followers = db.session.scalars(select(Alert).where(Alert.references_id == alert.id)
                                   .order_by(Alert.created_at)).all()
    return render_template("alerts/alert.html", alert=alert, stats=queries.alert_stats(alert.id),
                           lists=queries.list_names(alert), cancel_form=CancelForm(), channel_labels=CHANNEL_LABELS,
                           severity_labels=SEVERITY_LABELS, followers=followers,
                           follow_up_problem=queries.follow_up_problem(alert, "update")
                           if alert.kind == "broadcast" else "")


@bp.post("/alertes/<int:alert_id>/annuler")
@requires("alerts.send")
def cancel(alert_id: int):
    alert = access.alert_or_404(alert_id)
    if not CancelForm().validate_on_submit():
        flash(_("Only an alert that is still scheduled can be cancelled."), "error")
        return redirect(url_for(".alert_detail", alert_id=alert.id))
    try:
        operations.cancel_alert(alert)
    except operations.Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for(".alert_detail", alert_id=alert.id))
    db.session.commit()
    flash(_("The alert is cancelled: nothing will be sent."), "success")
    return redirect(url_for(".alert_detail", alert_id=alert.id))


@bp.get("/abonnes")
def subscribers():
    insee = access.commune_insee()
    subs = db.session.scalars(select(Subscriber).order_by(Subscriber.created_at.desc())).all()
    audit.record("alerts.subscribers_viewed", target_type="Subscriber", count=len(subs), commune=insee)
    db.session.commit()
    return render_template("alerts/subscribers.html", subs=subs, display_phone=smsmod.display_phone)
