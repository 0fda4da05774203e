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
    from portal.models import AuditEvent
    from services.alerts.models import Alert, SmsQuota

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    for i in range(3):
        add_subscriber(app, insee, [safety], phone=f"+3361234560{i}")
    admin = login_as("dept_admin")
    page = admin.get("/admin/s/alerts/").get_data(as_text=True)
    assert "Ailleville" in page and "+33612345600" not in page and "06 12 34 56 00" not in page
    # The department team's menu leads there.
    assert 'href="/admin/s/alerts/"' in admin.get("/admin/collectivites").get_data(as_text=True)
    # Bad input: a clear French message, nothing stored.
    resp = admin.post(f"/admin/s/alerts/quotas/{insee}", {"monthly_segments": "beaucoup"},
                      csrf_from="/admin/s/alerts/")
    assert resp.status_code == 302
    assert "nombre entier" in admin.get("/admin/s/alerts/").get_data(as_text=True)
    # Without the CSRF token the form is refused.
    assert admin.http.post(f"/admin/s/alerts/quotas/{insee}", data={"monthly_segments": "5"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(SmsQuota)) is None
    resp = admin.post(f"/admin/s/alerts/quotas/{insee}", {"monthly_segments": "2"}, csrf_from="/admin/s/alerts/")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SmsQuota)).monthly_segments == 2
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alerts.sms_quota_set"))
        assert event is not None
    assert admin.post("/admin/s/alerts/quotas/10999", {"monthly_segments": "2"},
                      csrf_from="/admin/s/alerts/").status_code == 404  # not a commune of the department
    # An agent sees, but does not change; mayors, secretaries and the EPCI see nothing there; anonymous: sign in.
    agent = login_as("dept_agent")
    assert agent.get("/admin/s/alerts/").status_code == 200
    assert "<form" not in agent.get("/admin/s/alerts/").get_data(as_text=True).split("<main", 1)[1]
    assert agent.post(f"/admin/s/alerts/quotas/{insee}", {"monthly_segments": "999"},
                      csrf_from="/admin/s/alerts/").status_code == 403
    for key in ("secretary_ab", "epci_user"):
        assert login_as(key).get("/admin/s/alerts/").status_code == 403, key
    anonymous = app.test_client().get("/admin/s/alerts/")
    assert anonymous.status_code == 302 and "/connexion" in anonymous.headers["Location"]
    # The old hand-made pages on the public blueprint are gone.
    assert app.test_client().get("/p/alerts/departement/").status_code == 404
    mayor = login_as("mayor_a")
    assert mayor.get("/admin/s/alerts/").status_code == 403
    assert 'href="/admin/s/alerts/"' not in mayor.get("/").get_data(as_text=True)
    url = "/s/alerts/alertes/nouvelle"
    body = mayor.post(url, {"title": "Coupure", "body": "Coupure d'eau demain.", "severity": "info", "channels": "sms",
                            "lists": str(safety), "send": "1"}, csrf_from=url).get_data(as_text=True)
    assert "il n&#39;en reste que 2" in body or "reste que 2" in body
    with app.app_context():
        assert db.session.scalar(select(Alert)) is None
    assert "sur les 2 autorisés" in mayor.get("/s/alerts/").get_data(as_text=True)
