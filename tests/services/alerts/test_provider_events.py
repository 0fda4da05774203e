"""Provider webhooks with payloads shaped exactly as the provider documents them, and what they do: receipts,
soft bounces sent again with backoff, hard bounces / invalid numbers / spam complaints that stop a resident's channel
(visible to the mairie, audited), STOP replies; and how each call is authenticated.

Payloads follow https://developers.brevo.com/docs/transactional-webhooks — "Transactional SMS" (every event:
``id`` = webhook id, ``to``, ``sms_count``, ``credits_used``, ``messageId``, ``remaining_credit``, ``msg_status``,
``date``, ``type``, ``reference``) and "Transactional Email" (``event``, ``email``, ``id``, ``date``, ``ts``,
``message-id``, ``ts_event``, ``subject``, ``X-Mailin-custom``, ``sending_ip``, ``ts_epoch``, ``template_id``,
``tags``, ``reason`` for bounces). Authentication follows https://developers.brevo.com/docs/username-and-password-authentication
(bearer token or user:password in the notify URL).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

from sqlalchemy import select

from .conftest import SAFETY, WEBHOOK_SECRET, add_subscriber

URL = "/s/alerts/alertes/nouvelle"


def _send(client, channels, safety, title="Crue", body="Montée des eaux cette nuit."):
    resp = client.post(URL, {"title": title, "body": body, "severity": "severe", "channels": channels,
                             "lists": str(safety), "send": "1"}, csrf_from=URL)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def brevo_sms(message_id, to, status, **extra):
    """One Brevo transactional SMS webhook event, every documented field present."""
    return {"id": 26570, "to": to, "sms_count": 1, "credits_used": 1.5, "messageId": message_id,
            "remaining_credit": 11488.845, "msg_status": status, "date": "2026-12-02 09:15:00",
            "type": "transactional", "reference": f"ref-{message_id}", **extra}


def brevo_email(event, email, message_id, custom, **extra):
    now = int(time.time())
    return {"event": event, "email": email, "id": 412, "date": "2026-12-02 09:15:00", "ts": now,
            "message-id": message_id, "ts_event": now + 1, "subject": "Ailleville — Crue",
            "X-Mailin-custom": custom, "sending_ip": "185.41.28.109", "ts_epoch": now * 1000 + 1000,
            "template_id": 0, "tags": [], **extra}


def _post(app, path, payload, **headers):
    return app.test_client().post(path, data=json.dumps(payload), content_type="application/json", headers=headers)


def _rows(app, alert_id):
    from portal.extensions import db
    from services.alerts.models import Delivery

    with app.app_context():
        return {d.address: d for d in db.session.scalars(select(Delivery).where(Delivery.alert_id == alert_id))}


def _subscriber(app, **by):
    from portal.extensions import db
    from services.alerts.models import Subscriber

    with app.app_context():
        return db.session.scalar(select(Subscriber).filter_by(**by))


def _audit(app, action):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_sms_receipts_hard_bounce_and_soft_bounce(app, world, alerts_world, smtp, sms, login_as):
    from services.alerts import delivery
    from services.alerts.models import utcnow

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], phone="+33612345601")
    add_subscriber(app, insee, [safety], phone="+33612345602")
    add_subscriber(app, insee, [safety], phone="+33612345603")
    mayor = login_as("mayor_a")
    alert_id = _send(mayor, "sms", safety)
    ids = {m.to: m.id for m in sms.messages}
    assert set(ids) == {"33612345601", "33612345602", "33612345603"}
    hook = f"/p/alerts/webhooks/sms/brevo?secret={WEBHOOK_SECRET}"
    # The documented "sent" event confirms nothing new; "delivered" does.
    assert _post(app, hook, brevo_sms(ids["33612345601"], "33612345601", "sent")).get_json()["handled"] == 0
    assert _post(app, hook, brevo_sms(ids["33612345601"], "33612345601", "delivered")).get_json()["handled"] == 1
    # A hard bounce: the number does not exist. Batched (a JSON array) with an unrelated event of another id.
    resp = _post(app, hook, [brevo_sms(ids["33612345602"], "33612345602", "hard_bounce"),
                             brevo_sms(999999, "33600000000", "delivered")])
    assert resp.get_json() == {"received": 2, "handled": 1}
    # A soft bounce: sent again later, with backoff.
    assert _post(app, hook, brevo_sms(ids["33612345603"], "33612345603", "soft_bounce")).get_json()["handled"] == 1
    rows = _rows(app, alert_id)
    assert rows["+33612345601"].status == "delivered"
    assert rows["+33612345602"].status == "failed" and rows["+33612345602"].failure_reason == "invalid_number"
    soft = rows["+33612345603"]
    assert soft.status == "pending" and soft.failure_reason == "soft_bounce"
    assert soft.next_attempt_at > utcnow() + dt.timedelta(seconds=20)
    # The same event again changes nothing (the row is no longer "sent").
    assert _post(app, hook, brevo_sms(ids["33612345603"], "33612345603", "soft_bounce")).get_json()["handled"] == 0
    assert _subscriber(app, phone="+33612345602").phone_invalid == "invalid_number"
    assert not _subscriber(app, phone="+33612345603").phone_invalid
    (event,) = _audit(app, "alerts.channel_invalid")
    assert event.details == {"channel": "sms", "reason": "invalid_number"} and event.actor == "system (brevo)"
    assert event.collectivity_id == world.a
    with app.app_context():
        assert delivery.flush() == {}  # not due yet
        assert delivery.flush(now=utcnow() + dt.timedelta(minutes=1)) == {"sent": 1}
    resent = [m for m in sms.messages if m.to == "33612345603"]
    assert len(resent) == 2 and resent[1].id != resent[0].id
    assert _post(app, hook, brevo_sms(resent[1].id, "33612345603", "delivered")).get_json()["handled"] == 1
    assert _rows(app, alert_id)["+33612345603"].status == "delivered"
    # The mairie sees the invalid number on the follow-up and on the subscribers page; the department counts it.
    detail = mayor.get(f"/s/alerts/alertes/{alert_id}").get_data(as_text=True)
    assert "Numéro invalide" in detail
    assert "Numéro invalide" in mayor.get("/s/alerts/abonnes").get_data(as_text=True)
    journal = mayor.get("/mairie/journal").get_data(as_text=True)
    assert "Alerte citoyen\u00a0: adresse ou numéro injoignable" in journal
    stats = mayor.get(f"/api/v1/alerts/alerts/{alert_id}/delivery").get_json()
    assert stats["channels"]["sms"] == {"total": 3, "delivered": 2, "failed": 1, "pending": 0, "sent": 0,
                                        "cancelled": 0, "percent": 66}
    dept = login_as("dept_admin").get("/admin/s/alerts/").get_data(as_text=True)
    row = dept.split("Ailleville", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row  # one unreachable address
    # The next alert leaves the invalid number out.
    second = _send(mayor, "sms", safety, title="Fin", body="Fin de l'alerte.")
    assert set(_rows(app, second)) == {"+33612345601", "+33612345603"}
    # The allowance is charged with every SMS the provider took: 3 + the one sent again + 2 (one segment each),
    # the hard-bounced one included.
    from services.alerts.queries import sms_used_this_month

    with app.app_context():
        assert {d.segments for d in _rows(app, alert_id).values()} == {1}
        assert sms_used_this_month() == 6
    assert login_as("dept_admin").get("/admin/s/alerts/").get_data(as_text=True).split("Ailleville", 1)[1] \
        .split("</tr>", 1)[0].count("<td>6</td>") == 1


def test_stop_reply_and_provider_opt_out(app, world, alerts_world, smtp, sms, login_as):
    from portal.extensions import db
    from services.alerts.models import Subscription

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], phone="+33612345611")
    add_subscriber(app, insee, [safety], phone="+33612345612")
    hook = f"/p/alerts/webhooks/sms/brevo?secret={WEBHOOK_SECRET}"
    # A reply that is not STOP changes nothing; "Stop." does.
    assert _post(app, hook, brevo_sms(1, "33612345611", "replied", reply="Merci !")).get_json()["handled"] == 0
    assert _post(app, hook, brevo_sms(1, "33612345611", "replied", reply="Stop.")).get_json()["handled"] == 1
    # Brevo's own opt-out list (the number unsubscribed from our sender there).
    assert _post(app, hook, brevo_sms(2, "33612345612", "unsubscribe")).get_json()["handled"] == 1
    with app.app_context():
        rows = db.session.scalars(select(Subscription)).all()
        assert all(s.unsubscribed_at is not None and s.unsubscribe_channel == "stop" for s in rows)
    assert len(_audit(app, "alerts.subscriber_unsubscribed")) == 2


def test_email_hard_bounce_complaint_and_soft_bounce_from_brevo_relay(app, world, alerts_world, smtp, sms,
                                                                     login_as):
    from services.alerts import delivery
    from services.alerts.models import utcnow

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    for local in ("absent", "plainte", "pleine", "lecteur"):
        add_subscriber(app, insee, [safety], email=f"{local}@example.org")
    mayor = login_as("mayor_a")
    smtp.messages.clear()
    alert_id = _send(mayor, "email", safety)
    received = {m.to[0]: m.msg for m in smtp.messages}
    assert len(received) == 4
    hook = "/p/alerts/webhooks/email/brevo"
    bearer = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}

    def event(name, address, **extra):
        msg = received[address]
        return brevo_email(name, address, str(msg["Message-ID"]), str(msg["X-Mailin-custom"]), **extra)

    assert _post(app, hook, event("delivered", "lecteur@example.org"), **bearer).get_json()["handled"] == 1
    assert _post(app, hook, event("hard_bounce", "absent@example.org", reason="550 5.1.1 User unknown"),
                 **bearer).get_json()["handled"] == 1
    assert _post(app, hook, event("spam", "plainte@example.org"), **bearer).get_json()["handled"] == 1
    assert _post(app, hook, event("soft_bounce", "pleine@example.org", reason="452 4.2.2 Mailbox full"),
                 **bearer).get_json()["handled"] == 1
    # Events of no interest (opened, click, deferred: Brevo retries by itself) are received, not applied.
    assert _post(app, hook, [event("opened", "lecteur@example.org"), event("deferred", "pleine@example.org")],
                 **bearer).get_json() == {"received": 2, "handled": 0}
    rows = _rows(app, alert_id)
    assert rows["absent@example.org"].status == "failed" and rows["absent@example.org"].failure_reason == "hard_bounce"
    assert "User unknown" in rows["absent@example.org"].last_error
    assert rows["plainte@example.org"].failure_reason == "spam_complaint"
    assert rows["pleine@example.org"].status == "pending" and rows["pleine@example.org"].failure_reason == "soft_bounce"
    assert rows["lecteur@example.org"].status == "delivered"
    assert _subscriber(app, email="absent@example.org").email_invalid == "hard_bounce"
    assert _subscriber(app, email="plainte@example.org").email_invalid == "spam_complaint"
    assert not _subscriber(app, email="pleine@example.org").email_invalid
    assert {e.details["reason"] for e in _audit(app, "alerts.channel_invalid")} == {"hard_bounce", "spam_complaint"}
    page = mayor.get("/s/alerts/abonnes").get_data(as_text=True)
    assert "marqué le message comme indésirable" in page and "Adresse inexistante" in page
    # The soft-bounced message leaves again once its backoff is over: the same Message-ID (same idempotency key).
    smtp.messages.clear()
    with app.app_context():
        assert delivery.flush(now=utcnow() + dt.timedelta(minutes=1)) == {"delivered": 1}
    assert [m.to for m in smtp.messages] == [["pleine@example.org"]]
    assert str(smtp.messages[0].msg["Message-ID"]) == str(received["pleine@example.org"]["Message-ID"])
    # An event about the first sending that arrives after the second one is stale: ignored.
    stale = event("soft_bounce", "pleine@example.org")
    stale["ts_event"] = int(time.time()) - 3600
    assert _post(app, hook, stale, **bearer).get_json()["handled"] == 0
    # Next alert: only the two reachable addresses.
    second = _send(mayor, "email", safety, title="Fin", body="Fin de l'alerte.")
    assert set(_rows(app, second)) == {"pleine@example.org", "lecteur@example.org"}


def test_email_event_without_our_header_is_matched_by_message_id_or_address(app, world, alerts_world, smtp, sms,
                                                                             login_as):
    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="ancien@example.org")
    add_subscriber(app, insee, [safety], email="autre@example.org")
    smtp.messages.clear()
    alert_id = _send(login_as("mayor_a"), "email", safety)
    msg = next(m.msg for m in smtp.messages if m.to == ["ancien@example.org"])
    bearer = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
    bare_id = str(msg["Message-ID"]).strip("<>")  # Brevo writes message ids without angle brackets
    assert _post(app, "/p/alerts/webhooks/email/brevo", brevo_email("hard_bounce", "ancien@example.org", bare_id, ""),
                 **bearer).get_json()["handled"] == 1
    assert _rows(app, alert_id)["ancien@example.org"].status == "failed"
    # Only the address: the channel is still stopped (an e-mail sent by another tool of the mairie bounced).
    assert _post(app, "/p/alerts/webhooks/email/brevo", brevo_email("invalid_email", "autre@example.org", "x", ""),
                 **bearer).get_json()["handled"] == 1
    assert _subscriber(app, email="autre@example.org").email_invalid == "hard_bounce"


def test_webhook_authentication(app, world, alerts_world, sms):
    body = brevo_sms(1, "33612345678", "delivered")
    for path in ("/p/alerts/webhooks/sms/brevo", "/p/alerts/webhooks/email/brevo"):
        assert _post(app, path, body).status_code == 403  # nothing
        assert _post(app, path + "?secret=wrong", body).status_code == 403
        assert _post(app, path, body, Authorization="Bearer wrong").status_code == 403
        assert _post(app, path, body, Authorization=f"Bearer {WEBHOOK_SECRET}").status_code == 200
        basic = base64.b64encode(f"brevo:{WEBHOOK_SECRET}".encode()).decode()
        assert _post(app, path, body, Authorization=f"Basic {basic}").status_code == 200
        wrong = base64.b64encode(b"brevo:nope").decode()
        assert _post(app, path, body, Authorization=f"Basic {wrong}").status_code == 403
        assert _post(app, f"{path}?secret={WEBHOOK_SECRET}", body).status_code == 200
    # Unknown provider or channel: not found; not JSON: a clear 400.
    assert _post(app, f"/p/alerts/webhooks/email/http_json?secret={WEBHOOK_SECRET}", body).status_code == 404
    assert _post(app, f"/p/alerts/webhooks/sms/autre?secret={WEBHOOK_SECRET}", body).status_code == 404
    bad = app.test_client().post(f"/p/alerts/webhooks/sms/brevo?secret={WEBHOOK_SECRET}", data=b"{not json")
    assert bad.status_code == 400
    # The generic gateway: HMAC-SHA256 of the body, with or without the "sha256=" prefix.
    raw = json.dumps({"status": "hard_bounce", "id": "gw-1", "to": "+33612345678"}).encode()
    sig = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    client = app.test_client()
    assert client.post("/p/alerts/webhooks/sms/http_json", data=raw, headers={"X-Signature": sig}).status_code == 200
    assert client.post("/p/alerts/webhooks/sms/http_json", data=raw,
                       headers={"X-Signature": f"sha256={sig}"}).status_code == 200
    assert client.post("/p/alerts/webhooks/sms/http_json", data=raw + b" ",
                       headers={"X-Signature": sig}).status_code == 403
    # Without a configured secret every call is refused, even one carrying an empty secret.
    app.config["ALERTS_WEBHOOK_SECRET"] = ""
    assert _post(app, "/p/alerts/webhooks/sms/brevo?secret=", body).status_code == 403
    assert _post(app, "/p/alerts/webhooks/sms/brevo", body, Authorization="Bearer ").status_code == 403
