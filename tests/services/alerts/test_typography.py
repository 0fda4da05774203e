"""French typography in the alerts pages, e-mails and SMS previews, through the portal's typography filters:
« 1 destinataire », « 2 857 », « 0,00 € », « d'Ailleville »."""
from __future__ import annotations

from .conftest import SAFETY, add_subscriber

NBSP, NNBSP = "\u00a0", "\u202f"
URL = "/s/alerts/alertes/nouvelle"


def test_french_typography_in_alerts_pages_emails_and_sms_previews(app, world, alerts_world, smtp, login_as):
    from portal.extensions import db
    from services.alerts.models import SmsQuota

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    add_subscriber(app, insee, [safety], email="riverain@example.org")
    mayor = login_as("mayor_a")
    form = {"title": "Crue", "body": "Montée des eaux.", "severity": "severe", "channels": "email",
            "lists": str(safety)}
    preview = mayor.post(URL, dict(form, preview="1"), csrf_from=URL).get_data(as_text=True)
    assert f"0,00{NBSP}€" in preview and "0.00" not in preview
    assert f"1{NBSP}destinataire<" in preview and f"0{NBSP}destinataire<" in preview
    resp = mayor.post(URL, dict(form, send="1"), csrf_from=URL)
    page = mayor.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"en cours d&#39;envoi à 1{NBSP}destinataire." in page
    mail = smtp.messages[-1]
    assert "Mairie d'Ailleville" in mail.text and "de Ailleville" not in mail.text
    # Individual message: its SMS preview and cost.
    sec = login_as("secretary_a")
    url = "/s/alerts/messages/nouveau"
    individual = sec.post(url, {"template": "cni", "channel": "sms", "recipient": "06 12 34 56 78", "name": "",
                                "detail": "", "legal_basis": "x", "preview": "1"}, csrf_from=url)
    text = individual.get_data(as_text=True)
    assert f"par message{NBSP}: 1 " in text and f"0,05{NBSP}€" in text and "mairie d&#39;Ailleville" in text
    # Thousands on the department's page.
    with app.app_context():
        db.session.add(SmsQuota(commune_insee=insee, monthly_segments=2857))
        db.session.commit()
    agent = login_as("dept_agent")
    row = agent.get("/admin/s/alerts/").get_data(as_text=True).split("Ailleville", 1)[1].split("</tr>", 1)[0]
    assert f"2{NNBSP}857" in row
