"""Residents' pages (``/p/alerts/<insee>/…``, no account): sign-up with double opt-in, their data page,
unsubscribing; the commune's public alerts (HTML, CAP 1.2, Atom); the providers' webhooks.

An anonymous request sees no territory: each view enters the one commune of its URL with
:func:`access.public_commune`. The secret of a resident's links is their subscriber token; a page never shows anyone
else's data. A commune that does not offer the service (no convention in force covering it, or not enabled) has no
public page.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import csrf, db
from portal.logs import redact
from portal.ratelimit import honeypot_filled, public_form
from portal.mail import queue_email
from portal.models import Collectivity
from portal.tenancy import territory_scope
from portal.typography import de

from .. import operations, queries, receipts, schemas
from .. import cap as capmod
from .. import sms as smsmod
from ..access import public_commune, subscriber_or_404
from ..delivery import code_hash
from ..messages import public_url
from ..forms import CodeForm, ConfirmForm, ManageForm, SubscribeForm
from ..models import Alert, AlertList, Subscriber, utcnow
from portal.settings import setting

log = logging.getLogger("services.alerts.public")

# The service's CSS, for anonymous pages too.
public_bp = Blueprint("alerts_public", __name__, root_path=str(Path(__file__).resolve().parent.parent),
                   static_folder="static", static_url_path="/static")

CODE_TTL = dt.timedelta(minutes=30)
CODE_MAX_ATTEMPTS = 5


def consent_wording(lst: AlertList, commune: str) -> str:
    return _("I agree that the mairie %(of_commune)s sends me the messages of the list « %(name)s » (%(purpose)s) "
             "on the channels I gave, until I unsubscribe.", of_commune=de(commune), name=lst.name,
             purpose=lst.purpose)


def _new_code(sub: Subscriber) -> str:
    """A new 6-digit code for the subscriber's number (only its hash is kept)."""
    code = f"{secrets.randbelow(10**6):06d}"
    sub.sms_code_hash = code_hash(sub.token, code)
    sub.sms_code_expires_at = utcnow() + CODE_TTL
    sub.sms_code_attempts = 0
    return code


def _send_code(phone: str, token: str, code: str, commune: str) -> bool:
    """Send the code by SMS. Called once the code is committed: the shared rate limit may write to the database,
    which must not wait behind this request's own open transaction (SQLite has one writer)."""
    text = _("%(commune)s: your confirmation code is %(code)s. It is valid 30 minutes.", commune=commune, code=code)
    try:
        provider = smsmod.provider_from_config(current_app.config)
        smsmod.limiter(provider.name, float(setting("ALERTS_SMS_RATE") or 10),
                       int(setting("ALERTS_SMS_BURST") or 1)).acquire()  # the provider's rate holds for codes too
        provider.send(phone, text, f"code-{token[:16]}", smsmod.segments(text).encoding == "UCS-2")
    except (smsmod.TemporarySmsError, smsmod.PermanentSmsError) as exc:
        log.error("confirmation code SMS failed: %s", redact(exc))
        return False
    return True


def _send_confirmation(coll: Collectivity, sub: Subscriber, email: str, chosen: list[AlertList]) -> None:
    """The double opt-in e-mail: a link to confirm the address (queued in the portal's e-mail outbox)."""
    queue_email(email, _("Confirm your subscription to the alerts %(of_commune)s", commune=coll.name,
                         of_commune=de(coll.name)), "alerts/confirm", commune=coll.name,
                link=public_url("alerts_public.confirm_email", insee=coll.insee, token=sub.token),
                lists=[lst.name for lst in chosen],
                lines={"hello": _("Hello,"),
                       "intro": _("You asked to receive the messages of the mairie %(of_commune)s:",
                                  of_commune=de(coll.name)),
                       "action": _("To confirm, open this link:"),
                       "ignore": _("If you did not ask for it, ignore this message: nothing will be sent to you.")})


@public_bp.route("/<insee>/", methods=["GET", "POST"])
@public_form(lambda args: f"commune:{args.get('insee')}")
def subscribe(insee: str):
    with public_commune(insee) as coll:
        lists = db.session.scalars(select(AlertList).where(AlertList.active.is_(True))
                                   .order_by(AlertList.name)).all()
        form = SubscribeForm()
        form.lists.choices = [(lst.id, lst.name) for lst in lists]
        wording = {lst.id: consent_wording(lst, coll.name) for lst in lists}
        if form.validate_on_submit() and honeypot_filled(f"alerts: sign-up in {insee}"):
            return render_template("alerts/public/check_email.html", commune=coll, email=form.email.data)
        if form.validate_on_submit():
            email = (form.email.data or "").strip().lower() or None
            # The form checked the number (a mobile of the countries SMS go to): this only normalises it.
            phone = schemas.mobile_number(form.phone.data) if (form.phone.data or "").strip() else None
            if not email and not phone:
                form.email.errors.append(_("Give an e-mail address, a mobile number, or both."))
            else:
                chosen = [lst for lst in lists if lst.id in form.lists.data]
                sub, channel = operations.create_subscriber(coll, email, phone, form.address.data or "", chosen,
                                                            wording)
                if email:
                    _send_confirmation(coll, sub, email, chosen)
                code = _new_code(sub) if phone else None
                token = sub.token
                db.session.commit()
                sent = _send_code(phone, token, code, coll.name) if phone else False
                log.info("alerts: new subscriber %s in %s (%s)", sub.id, insee, channel)
                if phone:
                    if not sent:
                        flash(_("The code could not be sent by SMS just now. Ask for a new one in a few minutes."),
                              "error")
                    return redirect(url_for(".enter_code", insee=insee, token=sub.token))
                return render_template("alerts/public/check_email.html", commune=coll, email=email)
        return render_template("alerts/public/subscribe.html", commune=coll, form=form, lists=lists,
                               wording=wording)


@public_bp.get("/<insee>/confirmer/<token>")
def confirm_email(insee: str, token: str):
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        return render_template("alerts/public/confirm.html", commune=coll, sub=sub, form=ConfirmForm())


@public_bp.post("/<insee>/confirmer/<token>")
def confirm_email_post(insee: str, token: str):
    """A POST (not the GET of the link): mail scanners that open links do not confirm on the resident's behalf."""
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        if ConfirmForm().validate_on_submit() and operations.confirm_email(sub, coll):
            db.session.commit()
        flash(_("Your e-mail address is confirmed: you will receive the messages you chose."), "success")
        return redirect(url_for(".manage", insee=insee, token=token))


@public_bp.route("/<insee>/code/<token>", methods=["GET", "POST"])
def enter_code(insee: str, token: str):
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        if not sub.phone:
            abort(404)
        form = CodeForm()
        if request.method == "POST" and request.form.get("resend"):
            if ConfirmForm().validate_on_submit():
                code = _new_code(sub)
                db.session.commit()
                ok = _send_code(sub.phone, sub.token, code, coll.name)
                flash(_("A new code was sent.") if ok else _("The code could not be sent by SMS just now."),
                      "success" if ok else "error")
            return redirect(url_for(".enter_code", insee=insee, token=token))
        if form.validate_on_submit():
            code = form.code.data.strip()
            if sub.sms_code_attempts >= CODE_MAX_ATTEMPTS or not sub.sms_code_expires_at \
                    or sub.sms_code_expires_at < utcnow():
                form.code.errors.append(_("This code has expired. Ask for a new one."))
            elif not hmac.compare_digest(sub.sms_code_hash, code_hash(sub.token, code)):
                sub.sms_code_attempts += 1
                db.session.commit()
                form.code.errors.append(_("This code is not the right one."))
            else:
                operations.confirm_phone(sub, coll)
                db.session.commit()
                flash(_("Your mobile number is confirmed: you will receive the messages you chose."), "success")
                return redirect(url_for(".manage", insee=insee, token=token))
        return render_template("alerts/public/code.html", commune=coll, sub=sub, form=form,
                               resend_form=ConfirmForm(), display_phone=smsmod.display_phone)


@public_bp.route("/<insee>/gerer/<token>", methods=["GET", "POST"])
def manage(insee: str, token: str):
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        lists = db.session.scalars(select(AlertList).order_by(AlertList.name)).all()
        active = {s.list_id for s in sub.subscriptions if s.unsubscribed_at is None}
        form = ManageForm()
        form.lists.choices = [(lst.id, lst.name) for lst in lists if lst.active or lst.id in active]
        if request.method == "GET":
            form.lists.data = sorted(active)
            form.address.data = sub.address
        elif form.validate_on_submit():
            operations.change_choices(sub, coll, lists, set(form.lists.data or []), form.address.data or "",
                                      lambda lst: consent_wording(lst, coll.name))
            db.session.commit()
            flash(_("Your choices are saved."), "success")
            return redirect(url_for(".manage", insee=insee, token=token))
        return render_template("alerts/public/manage.html", commune=coll, sub=sub, form=form,
                               delete_form=ConfirmForm(prefix="delete"), display_phone=smsmod.display_phone)


@public_bp.get("/m/<code>")
def short_manage(code: str):
    """The short link of list SMS: to the resident's data page (the code is as secret as the token; no data here)."""
    if not code.isalnum() or len(code) > 16:
        abort(404)
    with territory_scope(None):  # the code alone says which commune
        row = db.session.execute(select(Subscriber.commune_insee, Subscriber.token)
                                 .where(Subscriber.short_code == code.lower())).first()
    if row is None:
        abort(404)
    return redirect(url_for(".manage", insee=row.commune_insee, token=row.token))


@public_bp.post("/<insee>/supprimer/<token>")
def delete(insee: str, token: str):
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        if not ConfirmForm(prefix="delete").validate_on_submit():
            abort(400)
        operations.delete_subscriber(sub, coll)
        db.session.commit()
        return render_template("alerts/public/deleted.html", commune=coll)


@public_bp.route("/<insee>/desinscription/<token>", methods=["GET", "POST"])
def unsubscribe(insee: str, token: str):
    """The link in every message: a page with one button (a GET changes nothing)."""
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        form = ConfirmForm()
        if request.method == "POST" and form.validate_on_submit():
            operations.unsubscribe_all(sub, coll, "link")
            db.session.commit()
            return render_template("alerts/public/unsubscribed.html", commune=coll, sub=sub)
        return render_template("alerts/public/unsubscribe.html", commune=coll, sub=sub, form=form)


@public_bp.post("/<insee>/desinscription/<token>/un-clic")
@csrf.exempt
def one_click(insee: str, token: str):
    """RFC 8058 one-click unsubscribe: the mail client POSTs ``List-Unsubscribe=One-Click`` (no CSRF token: the
    secret is the token in the URL)."""
    with public_commune(insee) as coll:
        sub = subscriber_or_404(token)
        operations.unsubscribe_all(sub, coll, "one-click")
        db.session.commit()
        return Response("", status=204)


# Public alerts: HTML, CAP 1.2, Atom ----------------------------------------------------------------------------------

@public_bp.get("/<insee>/alertes")
def public_alerts(insee: str):
    with public_commune(insee) as coll:
        return render_template("alerts/public/alerts.html", commune=coll, alerts=queries.public_alerts())


@public_bp.get("/<insee>/alertes/<int:alert_id>")
def public_alert(insee: str, alert_id: int):
    with public_commune(insee) as coll:
        alert = db.session.scalar(select(Alert).where(Alert.id == alert_id))
        if alert is None or not alert.public:
            abort(404)
        followers = db.session.scalars(select(Alert).where(Alert.references_id == alert.id,
                                                           Alert.kind == "broadcast",
                                                           Alert.status.in_(("queued", "sent")))
                                       .order_by(Alert.sent_at)).all()
        earlier = alert.references if alert.references is not None and alert.references.public else None
        return render_template("alerts/public/alert.html", commune=coll, alert=alert, followers=followers,
                               earlier=earlier)


def cap_sender(coll: Collectivity) -> str:
    host = (current_app.config.get("BASE_URL") or "localhost").split("//")[-1].split("/")[0].split(":")[0]
    return f"mairie-{coll.insee}@{host}"


def cap_document(alert: Alert, coll: Collectivity) -> bytes:
    sender = cap_sender(coll)
    refs = [capmod.reference(sender, alert.references)] if alert.references is not None else []
    xml = capmod.build_cap(alert, sender=sender, commune=coll.name,
                           web=public_url("alerts_public.public_alert", insee=coll.insee, alert_id=alert.id),
                           lists=queries.list_names(alert), references=refs)
    errors = capmod.validate(xml)
    if errors:  # a bug of ours, never the user's input: say it loudly, publish nothing invalid
        log.error("CAP document of alert %s is not valid: %s", alert.id, errors)
        abort(500)
    return xml


@public_bp.get("/<insee>/alertes/<int:alert_id>.cap")
def public_cap(insee: str, alert_id: int):
    with public_commune(insee) as coll:
        alert = db.session.scalar(select(Alert).where(Alert.id == alert_id))
        if alert is None or not alert.public:
            abort(404)
        return Response(cap_document(alert, coll), mimetype="application/cap+xml")


@public_bp.get("/<insee>/flux.atom")
def feed(insee: str):
    with public_commune(insee) as coll:
        alerts = queries.public_alerts()
        entries = [{"id": f"urn:uuid:{a.identifier[:8]}-{a.identifier[8:12]}-{a.identifier[12:16]}-"
                          f"{a.identifier[16:20]}-{a.identifier[20:32]}",
                    "title": a.title, "summary": a.body, "updated": a.sent_at or a.created_at,
                    "link": public_url("alerts_public.public_alert", insee=insee, alert_id=a.id),
                    "cap": public_url("alerts_public.public_cap", insee=insee, alert_id=a.id)} for a in alerts]
        xml = capmod.build_atom(feed_url=public_url("alerts_public.feed", insee=insee),
                                page_url=public_url("alerts_public.public_alerts", insee=insee), commune=coll.name,
                                insee=insee, entries=entries, updated=entries[0]["updated"] if entries else None)
        return Response(xml, mimetype="application/atom+xml")


# Provider webhooks ---------------------------------------------------------------------------------------------------

def _secret_matches(sent: str, secret: str) -> bool:
    return bool(sent) and hmac.compare_digest(sent.encode(), secret.encode())


def _verify(provider: str) -> bool:
    """Is this call from our provider? Nothing is accepted while ALERTS_WEBHOOK_SECRET is unset.

    - ``http_json`` (our generic gateway contract): ``X-Signature`` = hex HMAC-SHA256 of the raw body with the
      secret (``sha256=`` prefix allowed).
    - ``brevo``: Brevo signs nothing; its documented ways to authenticate a notify URL
      (https://developers.brevo.com/docs/username-and-password-authentication, "Secure webhook calls") are a bearer
      token (webhook created with ``"auth": {"type": "bearer", "token": …}`` → ``Authorization: Bearer <token>``)
      or a user and password in the URL (→ ``Authorization: Basic``; the password is checked), besides allowing
      Brevo's IP ranges at the reverse proxy. The callback URL we give with each SMS (``webUrl``) carries the secret
      in its query string (``?secret=``). Any one of the three, equal to the secret, is accepted."""
    secret = setting("ALERTS_WEBHOOK_SECRET") or ""
    if not secret:
        log.error("provider webhook called but ALERTS_WEBHOOK_SECRET is not set: refused")
        return False
    if provider == "http_json":
        sent = request.headers.get("X-Signature", "").strip()
        sent = sent[7:] if sent.startswith("sha256=") else sent
        expected = hmac.new(secret.encode(), request.get_data(), hashlib.sha256).hexdigest()
        return _secret_matches(sent.lower(), expected)
    auth = request.authorization
    if auth is not None:
        if auth.type == "bearer" and _secret_matches(auth.token or "", secret):
            return True
        if auth.type == "basic" and _secret_matches(auth.password or "", secret):
            return True
    return _secret_matches(request.args.get("secret", ""), secret)


PARSERS = {("sms", "brevo"): receipts.brevo_sms_event, ("sms", "http_json"): receipts.http_json_event,
           ("email", "brevo"): receipts.brevo_email_event}


def _webhook(channel: str, provider: str):
    parse = PARSERS.get((channel, provider))
    if parse is None:
        abort(404)
    if not _verify(provider):
        log.warning("%s webhook %s: bad or missing secret from %s", channel, provider, request.remote_addr)
        abort(403)
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError:
        log.warning("%s webhook %s: body is not JSON", channel, provider)
        abort(400)
    events = [parse(ev) for ev in (data if isinstance(data, list) else [data]) if isinstance(ev, dict)]
    with territory_scope(None):  # a verified provider call acts as the system (receipts of every commune)
        handled = receipts.apply_events(events)
    log.info("%s webhook %s: %s event(s), %s applied", channel, provider, len(events), handled)
    return {"received": len(events), "handled": handled}


@public_bp.post("/webhooks/sms/<provider>")
@csrf.exempt
def webhook(provider: str):
    """Delivery receipts, bounces and replies (STOP) of the SMS provider."""
    return _webhook("sms", provider)


@public_bp.post("/webhooks/email/<provider>")
@csrf.exempt
def email_webhook(provider: str):
    """Bounces and complaints of the e-mail relay (Brevo's SMTP relay reports them through its webhooks)."""
    return _webhook("email", provider)
