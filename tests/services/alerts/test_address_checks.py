"""Addresses and numbers the service accepts (a real e-mail validator, mobile numbers of the countries the department
pays SMS for), and an outbox that one bad row can never stop."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import PortalClient

from .conftest import SAFETY, add_subscriber

INJECTION = "x@y.fr\r\nBcc: z@evil.example"
INDIVIDUAL = "/s/alerts/messages/nouveau"


def _individual(client, channel, recipient):
    return client.post(INDIVIDUAL, {"template": "cni", "channel": channel, "recipient": recipient, "name": "",
                                    "detail": "", "legal_basis": "Mission de service public", "send": "1"},
                       csrf_from=INDIVIDUAL)


def _deliveries(app):
    from portal.extensions import db
    from services.alerts.models import Delivery

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Delivery))


def test_header_injection_in_an_individual_alert_is_refused(app, world, alerts_world, smtp, login_as):
    sec = login_as("secretary_a")
    resp = _individual(sec, "email", INJECTION)
    assert resp.status_code == 200
    assert "adresse électronique n&#39;est pas valide" in resp.get_data(as_text=True)
    assert _deliveries(app) == 0
    resp = _individual(sec, "email", "habitant@example.org")
    assert resp.status_code == 302 and _deliveries(app) == 1
    assert smtp.messages[-1].to == ["habitant@example.org"]


def test_subscriber_sign_up_refuses_an_address_a_mail_header_cannot_carry(app, world, alerts_world, smtp):
    from portal.extensions import db
    from services.alerts.models import Subscriber

    insee = world.insee_a
    url = f"/p/alerts/{insee}/"
    resident = PortalClient(app)
    for bad in (INJECTION, "habitant@localhost", "habitant@@example.org"):
        resp = resident.post(url, {"email": bad, "lists": str(alerts_world[insee][SAFETY])}, csrf_from=url)
        assert resp.status_code == 200
        assert "pas valide" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
    assert not smtp.messages


def test_one_bad_delivery_row_never_stops_the_outbox(app, world, alerts_world, smtp, sms):
    """A row written before addresses were checked (or by a bug): it fails with its reason, `flask alerts flush`
    exits 0 and sends the others, and the next flush has nothing left to do."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.alerts.models import Alert, Delivery, utcnow

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    good = add_subscriber(app, insee, [safety], email="riverain@example.org")
    with app.app_context(), territory_scope(None):
        alert = Alert(commune_insee=insee, kind="individual", title="Carte", body="Votre carte est arrivée.",
                      channels=["email", "sms"], list_ids=[], status="queued", sent_at=utcnow())
        broadcast = Alert(commune_insee=insee, kind="broadcast", title="Crue", body="Montée des eaux.",
                          channels=["email"], list_ids=[safety], status="queued", sent_at=utcnow())
        db.session.add_all([alert, broadcast])
        db.session.flush()
        db.session.add_all([
            Delivery(alert_id=alert.id, commune_insee=insee, channel="email", address=INJECTION),
            Delivery(alert_id=alert.id, commune_insee=insee, channel="sms", address="+33612345678"),
            Delivery(alert_id=broadcast.id, commune_insee=insee, subscriber_id=good.id, channel="email",
                     address="riverain@example.org")])
        db.session.commit()
    app.config["ALERTS_SMS_PROVIDER"] = "no-such-provider"  # the SMS row meets an error nobody foresaw
    runner = app.test_cli_runner()
    result = runner.invoke(args=["alerts", "flush"])
    assert result.exit_code == 0, result.output
    with app.app_context(), territory_scope(None):
        rows = {d.address: d for d in db.session.scalars(select(Delivery))}
        assert (rows[INJECTION].status, rows[INJECTION].failure_reason) == ("failed", "invalid_address")
        assert (rows["+33612345678"].status, rows["+33612345678"].failure_reason) == ("failed", "send_error")
        assert "no-such-provider" in rows["+33612345678"].last_error
        assert rows["riverain@example.org"].status == "delivered"
    assert [m.to for m in smtp.messages] == [["riverain@example.org"]]
    assert not any("evil.example" in str(m.to) for m in smtp.messages)
    again = runner.invoke(args=["alerts", "flush"])
    assert again.exit_code == 0 and "nothing due" in again.output


def test_foreign_mobile_numbers_are_refused_for_sms(app, world, alerts_world, smtp, sms, login_as):
    from portal.extensions import db
    from services.alerts.models import Subscriber

    insee = world.insee_a
    url = f"/p/alerts/{insee}/"
    resident = PortalClient(app)
    resp = resident.post(url, {"phone": "+44 7911 123456", "lists": str(alerts_world[insee][SAFETY])},
                         csrf_from=url)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "numéros de mobile de France" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
    sec = login_as("secretary_a")
    assert "numéros de mobile de France" in _individual(sec, "sms", "+32 470 12 34 56").get_data(as_text=True)
    assert _deliveries(app) == 0 and not sms.messages
    # An overseas département is France: La Réunion's mobiles are accepted.
    assert _individual(sec, "sms", "+262 692 12 34 56").status_code == 302
    assert sms.messages[-1].to == "262692123456"
    # The department may open other countries.
    app.config["ALERTS_SMS_COUNTRIES"] = "FR,BE"
    try:
        assert _individual(sec, "sms", "+32 470 12 34 56").status_code == 302
        assert sms.messages[-1].to == "32470123456"
        assert "numéros de mobile de France" in _individual(sec, "sms", "+262 692 12 34 57").get_data(as_text=True)
    finally:
        app.config.pop("ALERTS_SMS_COUNTRIES")
