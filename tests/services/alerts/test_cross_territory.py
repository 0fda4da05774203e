"""Every route of the alerts service (/s/alerts, /api/v1/alerts, /p/alerts) × every role of commune A against
commune B's objects (+ the EPCI user against Troyes, + department staff): refused, and never B's residents."""
import pytest

from tests.helpers.cross_territory import check_routes

from .conftest import SAFETY, add_subscriber

PREFIXES = ("/s/alerts", "/api/v1/alerts", "/p/alerts", "/admin/s/alerts")
B_EMAIL = "habitante-secrete@jaucourt.example.org"
B_PHONE = "+33611223344"
B_TITLE = "Votre-passeport-est-arrive-Jaucourt"
T_EMAIL = "habitant-secret@troyes.example.org"


def _alert(app, insee, list_id, title, kind):
    from portal.extensions import db
    from services.alerts.delivery import queue_alert, recipients
    from services.alerts.models import Alert, utcnow

    with app.app_context():
        a = Alert(commune_insee=insee, kind=kind, title=title, body=f"Texte {title}", channels=["email"],
                  list_ids=[list_id], status="queued", sent_at=utcnow())
        db.session.add(a)
        queue_alert(a, recipients(insee, [list_id], ["email"]))
        db.session.commit()
        return a.id


@pytest.fixture
def foreign(app, world, alerts_world, smtp):
    b_list = alerts_world[world.insee_b][SAFETY]
    sub = add_subscriber(app, world.insee_b, [b_list], email=B_EMAIL, phone=B_PHONE)
    alert_id = _alert(app, world.insee_b, b_list, B_TITLE, "individual")
    ids = {"alert_id": alert_id, "insee": world.insee_b, "token": sub.token, "provider": "brevo", "code": "x" * 12}
    return ids


MARKERS = [B_EMAIL, B_PHONE, "06 11 22 33 44", B_TITLE]


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "elected_a", "secretary_ab"])
def test_users_of_commune_a_never_reach_commune_b(app, world, login_as, foreign, role):
    client = login_as(role, world.a)
    # The public pages are given B's real subscriber token only through their own secret link; here a wrong one.
    ids = dict(foreign, token="x" * 43)
    report = check_routes(client, app, ids, MARKERS, prefixes=PREFIXES)
    report.assert_clean()
    assert len(report.checked) >= 20


def test_epci_user_never_sees_residents(app, world, alerts_world, login_as, subscribe, smtp):
    from services.alerts.models import AlertList  # noqa: F401 - models loaded

    subscribe("alerts", world.epci)
    t_list = None
    from portal.extensions import db
    with app.app_context():
        lst = AlertList(commune_insee=world.insee_troyes, name=SAFETY, purpose="x")
        db.session.add(lst)
        db.session.commit()
        t_list = lst.id
    add_subscriber(app, world.insee_troyes, [t_list], email=T_EMAIL)
    alert_id = _alert(app, world.insee_troyes, t_list, "Alerte-privee-Troyes", "individual")
    client = login_as("epci_user")
    report = check_routes(client, app, {"alert_id": alert_id, "insee": world.insee_troyes, "token": "y" * 43,
                                        "provider": "brevo", "code": "y" * 12}, [T_EMAIL, "Alerte-privee-Troyes"], prefixes=PREFIXES)
    report.assert_clean()
    # An EPCI has no residents list of its own: the service pages refuse it clearly.
    assert client.get("/s/alerts/").status_code == 403


@pytest.mark.parametrize("role", ["dept_admin", "dept_agent"])
def test_department_staff_do_not_browse_subscribers(app, world, login_as, foreign, role):
    client = login_as(role)
    report = check_routes(client, app, dict(foreign, token="z" * 43), MARKERS, prefixes=PREFIXES,
                          exclude=("/admin/s/alerts",))
    report.assert_clean()
    # The department's own pages of the service take any commune of the department (setting its SMS allowance is
    # their job): they answer, but never show a resident.
    own = check_routes(client, app, dict(foreign, token="z" * 43), MARKERS, prefixes=("/admin/s/alerts",))
    assert own.checked and not [f for f in own.findings if f.problem.startswith("body shows")], own.findings
    page = client.get("/admin/s/alerts/").get_data(as_text=True)
    assert "Jaucourt" in page and B_EMAIL not in page


def test_the_real_token_is_the_only_key_to_a_residents_page(app, world, foreign):
    """The same public route with B's real token shows B's resident to its holder (the check above can fail)."""
    from tests.conftest import PortalClient

    resident = PortalClient(app)
    page = resident.get(f"/p/alerts/{world.insee_b}/gerer/{foreign['token']}").get_data(as_text=True)
    assert B_EMAIL in page
    # …but not under another commune's address.
    assert resident.get(f"/p/alerts/{world.insee_a}/gerer/{foreign['token']}").status_code == 404
