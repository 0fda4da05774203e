"""French typography in the portal's pages and e-mails: « d'Ailleville », never « de Ailleville »; populations with
a narrow no-break space between thousands (portal.typography's filters)."""
from __future__ import annotations

from html import unescape

REASON = "La secrétaire ne retrouve plus la délibération du lavoir, appel du 2 décembre"


def test_support_mode_pages_and_email_say_d_ailleville(app, world, login_as, smtp):
    admin = login_as("dept_admin")
    detail = f"/admin/collectivites/{world.a}"
    page = unescape(admin.get(detail).get_data(as_text=True))
    assert "Pour aider les agents d'Ailleville" in page and "journal d'Ailleville avec votre motif" in page
    assert "de Ailleville" not in page
    admin.post(f"/assistance/ouvrir/{world.a}", {"reason": REASON, "duration": "30"}, csrf_from=detail)
    home = unescape(admin.get("/").get_data(as_text=True))
    assert "inscrite au journal d'Ailleville" in home and "de Ailleville" not in home
    mail = next(m for m in smtp.messages if "assistance" in m.text)
    assert "l'extranet d'Ailleville" in mail.text and "journal d'Ailleville" in mail.text
    assert "de Ailleville" not in mail.text


def test_populations_are_written_with_french_thousands(app, world, login_as):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        troyes = db.session.get(Collectivity, world.troyes)
        population = troyes.population
    assert population and population > 1000
    expected = f"{population:,}".replace(",", "\u202f")
    admin = login_as("dept_admin")
    assert expected in admin.get(f"/admin/collectivites/{world.troyes}").get_data(as_text=True)
    assert expected in admin.get("/admin/collectivites?q=troyes").get_data(as_text=True)
