"""Individual messages from models with their legal basis; SMS allowances set by the department."""
from sqlalchemy import select

from .conftest import SAFETY, add_subscriber


def test_individual_sms_from_a_model_records_the_legal_basis(app, world, alerts_world, smtp, sms, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.alerts.models import Alert, Delivery

    sec = login_as("secretary_a")
    url = "/s/alerts/messages/nouveau"
    page = sec.get(url).get_data(as_text=True)
    assert "Carte nationale d&#39;identité" in page or "carte" in page.lower()
    body = sec.post(url, {"template": "cni", "channel": "sms", "recipient": "03 25 27 00 00", "name": "M. Durand",
                          "detail": "", "legal_basis": "x", "send": "1"}, csrf_from=url).get_data(as_text=True)
    assert "pas un numéro de mobile" in body
    resp = sec.post(url, {"template": "cni", "channel": "sms", "recipient": "07 81 23 45 67", "name": "M. Durand",
                          "detail": "du lundi au vendredi de 9 h à 12 h",
                          "legal_basis": "Mission de service public — titres d'identité", "send": "1"}, csrf_from=url)
    assert resp.status_code == 302
    msg = sms.messages[-1]
    assert msg.to == "33781234567"
    assert msg.text == ("Ailleville : Bonjour M. Durand, votre carte nationale d'identité est arrivée à la mairie "
                        "d'Ailleville. Vous pouvez venir la retirer du lundi au vendredi de 9 h à 12 h.")
    assert "STOP" not in msg.text  # not a list message
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        assert alert.kind == "individual" and "titres d'identité" in alert.legal_basis
        assert db.session.scalar(select(Delivery)).status == "sent"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alerts.individual_sent"))
    assert "titres d&#39;identité" in sec.get(resp.headers["Location"]).get_data(as_text=True)


def test_department_sets_allowance_and_the_mairie_cannot_exceed_it(app, world, alerts_world, smtp, sms, login_as):
    from portal.extensions import db
    from services.alerts.models import Alert, SmsQuota

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    for i in range(3):
        add_subscriber(app, insee, [safety], phone=f"+3361234560{i}")
    admin = login_as("dept_admin")
    page = admin.get("/p/alerts/departement/").get_data(as_text=True)
    assert "Ailleville" in page and "+33612345600" not in page
    resp = admin.post(f"/p/alerts/departement/quotas/{insee}", {"monthly_segments": "2"},
                      csrf_from="/p/alerts/departement/")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SmsQuota)).monthly_segments == 2
    # An agent sees, but does not change; a mayor sees nothing there.
    agent = login_as("dept_agent")
    assert agent.get("/p/alerts/departement/").status_code == 200
    assert agent.post(f"/p/alerts/departement/quotas/{insee}", {"monthly_segments": "999"},
                      csrf_from="/p/alerts/departement/").status_code == 403
    mayor = login_as("mayor_a")
    assert mayor.get("/p/alerts/departement/").status_code == 403
    url = "/s/alerts/alertes/nouvelle"
    body = mayor.post(url, {"title": "Coupure", "body": "Coupure d'eau demain.", "severity": "info", "channels": "sms",
                            "lists": str(safety), "send": "1"}, csrf_from=url).get_data(as_text=True)
    assert "il n&#39;en reste que 2" in body or "reste que 2" in body
    with app.app_context():
        assert db.session.scalar(select(Alert)) is None
    assert "sur les 2 autorisés" in mayor.get("/s/alerts/").get_data(as_text=True)
