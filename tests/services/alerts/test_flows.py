"""End to end: residents subscribe (double opt-in by e-mail link and SMS code), the mairie sends alerts through the
outbox to the loopback SMTP server and the loopback Brevo-speaking SMS server, receipts and STOP come back through
the signed webhook, residents unsubscribe by link and one-click POST."""
from __future__ import annotations

import hashlib
import hmac
import json
import re

from sqlalchemy import func, select

from tests.conftest import PortalClient, link_in

from .conftest import SAFETY, WEBHOOK_SECRET, add_subscriber

MOBILE = "+33612345678"


def _client(app):
    return PortalClient(app)


def _count(app, model, **filters):
    from portal.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def test_email_double_opt_in_then_alert_then_one_click_unsubscribe(app, world, alerts_world, smtp, login_as):
    from portal.extensions import db
    from services.alerts.models import Subscriber, Subscription

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    resident = _client(app)
    page = resident.get(f"/p/alerts/{insee}/").get_data(as_text=True)
    assert "Ailleville" in page and SAFETY in page
    assert "la mairie d&#39;Ailleville" in page and "de Ailleville" not in page  # French elision
    resp = resident.post(f"/p/alerts/{insee}/", {"email": "Habitant@Example.org", "lists": str(safety)},
                         csrf_from=f"/p/alerts/{insee}/")
    assert resp.status_code == 200 and "habitant@example.org" in resp.get_data(as_text=True)
    with app.app_context():
        sub = db.session.scalar(select(Subscriber))
        assert sub.email == "habitant@example.org" and sub.email_confirmed_at is None
        consent = db.session.scalar(select(Subscription))
        assert SAFETY in consent.consent_text and consent.consent_channel == "email"
    # Not confirmed yet: an alert does not reach them.
    mayor = login_as("mayor_a")
    resp = mayor.post("/s/alerts/alertes/nouvelle", {"title": "Crue", "body": "Montée des eaux", "severity": "severe",
                                                     "channels": "email", "lists": str(safety), "send": "1"},
                      csrf_from="/s/alerts/alertes/nouvelle")
    assert "Personne ne recevrait" in resp.get_data(as_text=True)
    # The link of the e-mail opens a page; confirming is a POST.
    confirm = [m for m in smtp.messages if m.to == ["habitant@example.org"]][-1]
    link = link_in(confirm)
    path = link.split("portal.test", 1)[1]
    assert resident.get(path).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Subscriber)).email_confirmed_at is None
    assert resident.post(path, {}, csrf_from=path).status_code == 302
    with app.app_context():
        token = db.session.scalar(select(Subscriber)).token
        assert db.session.scalar(select(Subscriber)).email_confirmed_at is not None
    smtp.messages.clear()
    resp = mayor.post("/s/alerts/alertes/nouvelle", {"title": "Crue de l'Aube", "body": "Montée des eaux cette nuit.",
                                                     "severity": "severe", "channels": "email",
                                                     "lists": str(safety), "send": "1"},
                      csrf_from="/s/alerts/alertes/nouvelle")
    assert resp.status_code == 302
    msg = smtp.messages[-1]
    assert msg.to == ["habitant@example.org"] and "Crue de l'Aube" in msg.subject
    assert "Montée des eaux cette nuit." in msg.text
    one_click = msg.msg["List-Unsubscribe"].strip("<>")
    assert msg.msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert token in one_click and f"/p/alerts/{insee}/desinscription/{token}" in msg.text
    detail = mayor.get(resp.headers["Location"]).get_data(as_text=True)
    # the delivery rate's cell, not the bare digits « 100 » (an id, a token or a time on the page may hold them)
    assert '<span data-k="percent">100</span>' in detail
    # One-click: the mail client POSTs without any CSRF token or cookie.
    anonymous = app.test_client()
    resp = anonymous.post(one_click.split("portal.test", 1)[1], data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 204
    with app.app_context():
        s = db.session.scalar(select(Subscription))
        assert s.unsubscribed_at is not None and s.unsubscribe_channel == "one-click"


def test_unsubscribe_link_and_manage_page(app, world, alerts_world, smtp):
    from portal.extensions import db
    from services.alerts.models import Subscriber, Subscription

    insee = world.insee_a
    lists = alerts_world[insee]
    sub = add_subscriber(app, insee, lists.values(), email="famille@example.org")
    resident = _client(app)
    manage = f"/p/alerts/{insee}/gerer/{sub.token}"
    page = resident.get(manage).get_data(as_text=True)
    assert "famille@example.org" in page and "test consent" in page
    keep = lists[SAFETY]
    assert resident.post(manage, {"lists": str(keep), "address": "3 rue du Lavoir"},
                         csrf_from=manage).status_code == 302
    with app.app_context():
        active = db.session.scalars(select(Subscription.list_id).where(Subscription.unsubscribed_at.is_(None))).all()
        assert active == [keep]
        assert db.session.scalar(select(Subscriber)).address == "3 rue du Lavoir"
    url = f"/p/alerts/{insee}/desinscription/{sub.token}"
    assert "Se désinscrire" in resident.get(url).get_data(as_text=True) or resident.get(url).status_code == 200
    assert _count(app, Subscription, unsubscribe_channel="link") == 0
    resident.post(url, {}, csrf_from=url)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscription)
                                 .where(Subscription.unsubscribed_at.is_(None))) == 0
    # Delete everything.
    resident.http.post(f"/p/alerts/{insee}/supprimer/{sub.token}",
                       data={"delete-csrf_token": resident.csrf(manage)})
    assert _count(app, Subscriber) == 0 and _count(app, Subscription) == 0
    assert resident.get(manage).status_code == 404


def test_sms_opt_in_by_code_alert_receipt_and_stop(app, world, alerts_world, smtp, sms, login_as):
    from portal.extensions import db
    from services.alerts.models import Delivery, Subscriber, Subscription

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    resident = _client(app)
    # A landline is refused with a French message, nothing stored.
    resp = resident.post(f"/p/alerts/{insee}/", {"phone": "03 25 27 00 00", "lists": str(safety)},
                         csrf_from=f"/p/alerts/{insee}/")
    assert "pas un numéro de mobile" in resp.get_data(as_text=True)
    assert _count(app, Subscriber) == 0 and not sms.messages
    resp = resident.post(f"/p/alerts/{insee}/", {"phone": "06 12 34 56 78", "lists": str(safety)},
                         csrf_from=f"/p/alerts/{insee}/")
    assert resp.status_code == 302
    code_page = resp.headers["Location"]
    assert sms.messages[-1].to == "33612345678"
    code = re.search(r"\b(\d{6})\b", sms.messages[-1].text).group(1)
    wrong = "000000" if code != "000000" else "111111"
    body = resident.post(code_page, {"code": wrong}, csrf_from=code_page).get_data(as_text=True)
    assert "pas le bon" in body
    assert resident.post(code_page, {"code": code}, csrf_from=code_page).status_code == 302
    with app.app_context():
        sub = db.session.scalar(select(Subscriber))
        assert sub.phone == MOBILE and sub.phone_confirmed_at is not None
    # The mairie sends an SMS alert.
    mayor = login_as("secretary_a")
    resp = mayor.post("/s/alerts/alertes/nouvelle", {"title": "Coupure d'eau", "body": "Coupure d'eau demain de 8h à 12h.",
                                                     "severity": "minor", "channels": "sms", "lists": str(safety),
                                                     "send": "1"}, csrf_from="/s/alerts/alertes/nouvelle")
    assert resp.status_code == 302
    alert_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    sent = sms.messages[-1]
    assert sent.to == "33612345678" and "Coupure d'eau demain de 8h à 12h." in sent.text
    assert sent.text.startswith("Ailleville : ") and "STOP" in sent.text.splitlines()[-1]
    # The line before STOP: a short personal link to the resident's data (see, change, delete).
    data_line = sent.text.splitlines()[-2]
    assert data_line.startswith("Vos données : http://portal.test/p/alerts/m/")
    short = data_line.rsplit("/", 1)[1]
    with app.app_context():
        sub = db.session.scalar(select(Subscriber))
        assert short == sub.short_code and len(short) == 12 and sub.token not in sent.text
    page = resident.get(data_line.split("portal.test", 1)[1])
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/p/alerts/{insee}/gerer/{sub.token}")
    assert "06 12 34 56 78" in resident.get(page.headers["Location"]).get_data(as_text=True)
    assert resident.get("/p/alerts/m/" + "z" * 12).status_code == 404
    assert sent.body["type"] == "transactional" and sent.body["webUrl"].endswith(WEBHOOK_SECRET)
    stats = mayor.get(f"/api/v1/alerts/alerts/{alert_id}/delivery").get_json()
    assert stats["channels"]["sms"]["sent"] == 1 and stats["channels"]["sms"]["delivered"] == 0
    anonymous = app.test_client()
    # A receipt without the secret is refused; with it, the delivery is delivered.
    receipt = {"msg_status": "delivered", "messageId": sent.id, "to": "33612345678"}
    assert anonymous.post("/p/alerts/webhooks/sms/brevo?secret=wrong", json=receipt).status_code == 403
    assert anonymous.post(f"/p/alerts/webhooks/sms/brevo?secret={WEBHOOK_SECRET}", json=receipt).status_code == 200
    stats = mayor.get(f"/api/v1/alerts/alerts/{alert_id}/delivery").get_json()
    assert stats["channels"]["sms"]["delivered"] == 1 and stats["channels"]["sms"]["percent"] == 100
    # STOP reply.
    reply = {"msg_status": "replied", "reply": "Stop", "to": "33612345678", "messageId": sent.id}
    assert anonymous.post(f"/p/alerts/webhooks/sms/brevo?secret={WEBHOOK_SECRET}", json=reply).status_code == 200
    with app.app_context():
        s = db.session.scalar(select(Subscription))
        assert s.unsubscribed_at is not None and s.unsubscribe_channel == "stop"
        assert db.session.scalar(select(Delivery)).status == "delivered"


def test_generic_http_json_webhook_needs_hmac_signature(app, world, alerts_world, sms):
    app.config["ALERTS_SMS_PROVIDER"] = "http_json"
    body = json.dumps({"status": "delivered", "id": "nothing"}).encode()
    anonymous = app.test_client()
    assert anonymous.post("/p/alerts/webhooks/sms/http_json", data=body,
                          headers={"X-Signature": "0" * 64}).status_code == 403
    sig = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    resp = anonymous.post("/p/alerts/webhooks/sms/http_json", data=body, headers={"X-Signature": sig})
    assert resp.status_code == 200 and resp.get_json() == {"received": 1, "handled": 0}


def test_permanent_failures_stop_retries_temporary_ones_wait(app, world, alerts_world, smtp, sms, login_as):
    from portal.extensions import db
    from services.alerts import delivery
    from services.alerts.models import Delivery, Subscriber

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="refuse@example.org")
    add_subscriber(app, insee, [safety], email="busy@example.org")
    add_subscriber(app, insee, [safety], phone="+33698765432")
    sms.invalid_recipients.add("33698765432")
    mayor = login_as("mayor_a")
    resp = mayor.post("/s/alerts/alertes/nouvelle", {"title": "Tempête", "body": "Restez chez vous.",
                                                     "severity": "extreme", "channels": ["email", "sms"],
                                                     "lists": str(safety), "send": "1"},
                      csrf_from="/s/alerts/alertes/nouvelle")
    assert resp.status_code == 302
    with app.app_context():
        rows = {d.address: d for d in db.session.scalars(select(Delivery))}
        assert rows["refuse@example.org"].status == "failed"
        assert rows["refuse@example.org"].failure_reason == "address_refused"
        assert rows["busy@example.org"].status == "pending" and rows["busy@example.org"].attempts == 1
        assert rows["+33698765432"].status == "failed" and rows["+33698765432"].failure_reason == "invalid_number"
        subs = {s.email or s.phone: s for s in db.session.scalars(select(Subscriber))}
        assert subs["refuse@example.org"].email_invalid and subs["+33698765432"].phone_invalid
        # A flush now sends nothing (the retry is not due yet, failed rows are never retried).
        assert delivery.flush() == {}
    page = mayor.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Numéro invalide" in page
    # The invalid addresses are left out of the next alert.
    resp = mayor.post("/s/alerts/alertes/nouvelle", {"title": "Fin d'alerte", "body": "C'est fini.",
                                                     "severity": "info", "channels": ["email", "sms"],
                                                     "lists": str(safety), "send": "1"},
                      csrf_from="/s/alerts/alertes/nouvelle")
    alert_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        addresses = set(db.session.scalars(select(Delivery.address).where(Delivery.alert_id == alert_id)))
        assert addresses == {"busy@example.org"}


def test_bad_input_queues_nothing(app, world, alerts_world, smtp, login_as):
    from services.alerts.models import Alert, Delivery

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], phone="+33612345678", email="a@example.org")
    mayor = login_as("mayor_a")
    url = "/s/alerts/alertes/nouvelle"
    base = {"title": "Essai", "body": "Texte", "severity": "info", "channels": "sms", "lists": str(safety), "send": "1"}
    cases = [
        (dict(base, body=""), "Le message est vide"),
        (dict(base, body="ê" * 700), "segments"),
        (dict(base, scheduled_at="2020-01-01T10:00"), "passé"),
        (dict(base, lists=""), "au moins une liste"),
    ]
    for data, expected in cases:
        body = mayor.post(url, data, csrf_from=url).get_data(as_text=True)
        assert expected in body, expected
    assert _count(app, Alert) == 0 and _count(app, Delivery) == 0


def test_scheduled_alert_waits_and_can_be_cancelled(app, world, alerts_world, smtp, login_as):
    from services.alerts import delivery
    from services.alerts.models import Delivery

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="plus-tard@example.org")
    mayor = login_as("mayor_a")
    url = "/s/alerts/alertes/nouvelle"
    resp = mayor.post(url, {"title": "Travaux", "body": "Rue barrée lundi.", "severity": "info", "channels": "email",
                            "lists": str(safety), "scheduled_at": "2099-01-01T08:00", "send": "1"}, csrf_from=url)
    assert resp.status_code == 302
    assert not [m for m in smtp.messages if m.to == ["plus-tard@example.org"]]
    with app.app_context():
        assert delivery.flush() == {}
    detail = resp.headers["Location"]
    alert_id = detail.rsplit("/", 1)[1]
    assert mayor.post(f"/s/alerts/alertes/{alert_id}/annuler", {}, csrf_from=detail).status_code == 302
    assert _count(app, Delivery, status="cancelled") == 1


def test_test_send_goes_to_the_user_only(app, world, alerts_world, smtp, login_as):
    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="voisin@example.org")
    mayor = login_as("mayor_a")
    url = "/s/alerts/alertes/nouvelle"
    smtp.messages.clear()
    body = mayor.post(url, {"title": "Essai", "body": "Texte d'essai", "severity": "info", "channels": "email",
                            "lists": str(safety), "test": "1"}, csrf_from=url).get_data(as_text=True)
    assert [m.to for m in smtp.messages] == [[world.users["mayor_a"].email]]
    preview = mayor.post(url, {"title": "Essai", "body": "Texte d'essai", "severity": "info", "channels": "sms",
                               "lists": str(safety), "preview": "1"}, csrf_from=url).get_data(as_text=True)
    assert "Ailleville : Texte d&#39;essai" in preview or "Ailleville : Texte d'essai" in preview
    assert "Texte d'essai" in body or "Texte d&#39;essai" in body


def test_temporary_sms_errors_are_retried_later_and_flush_sends_scheduled_alerts(app, world, alerts_world, smtp,
                                                                                  sms, login_as):
    import datetime as dt

    from portal.extensions import db
    from services.alerts import delivery
    from services.alerts.models import Alert, Delivery, utcnow

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], phone="+33611111111")
    sms.fail_next_temporarily = 1  # the provider answers 503 once
    mayor = login_as("mayor_a")
    url = "/s/alerts/alertes/nouvelle"
    resp = mayor.post(url, {"title": "Vent", "body": "Rafales à 100 km/h.", "severity": "moderate", "channels": "sms",
                            "lists": str(safety), "send": "1"}, csrf_from=url)
    assert resp.status_code == 302 and not sms.messages
    with app.app_context():
        d = db.session.scalar(select(Delivery))
        assert d.status == "pending" and d.attempts == 1 and d.failure_reason == "temporary"
        assert d.next_attempt_at > utcnow() + dt.timedelta(seconds=20)  # backoff
        assert delivery.flush() == {}  # not due yet
        assert delivery.flush(now=utcnow() + dt.timedelta(minutes=1)) == {"sent": 1}
    assert len(sms.messages) == 1
    # A scheduled alert waits for its time, then the CLI (or the beat) sends it.
    with app.app_context():
        a = Alert(commune_insee=insee, kind="broadcast", title="Plus tard", body="Réunion publique.",
                  channels=["sms"], list_ids=[safety], status="scheduled",
                  scheduled_at=utcnow() + dt.timedelta(seconds=1))
        db.session.add(a)
        delivery.queue_alert(a, delivery.recipients(insee, [safety], ["sms"]))
        db.session.commit()
    assert len(sms.messages) == 1
    import time

    time.sleep(1.1)
    result = app.test_cli_runner().invoke(args=["alerts", "flush"])
    assert result.exit_code == 0, result.output
    assert "sent" in result.output and len(sms.messages) == 2
    with app.app_context():
        assert db.session.scalar(select(Alert).where(Alert.title == "Plus tard")).status == "queued"
