"""Every route of the Actes service (/s/actes, /api/v1/actes, /p/actes, /admin/s/actes) × every role of commune A
against commune B's act, file and letter (+ the EPCI user against Troyes, + department staff): refused, and never
B's objet or number."""
from __future__ import annotations


import pytest

from tests.helpers.cross_territory import check_routes

from .conftest import make_act
from tests.helpers.clock import legal_today

PREFIXES = ("/s/actes", "/api/v1/actes", "/p/actes", "/admin/s/actes")
B_SUBJECT = "Objet-secret-de-Jaucourt"
B_NUMBER = "JAUCOURT_SECRET"
T_SUBJECT = "Objet-secret-de-Troyes"


def _foreign(app, collectivity_id, insee, subject, number):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act, PrefectureReply

    act_id = make_act(app, collectivity_id, number=number, subject=subject)
    with app.app_context(), territory_scope(None):
        act = db.session.get(Act, act_id)
        reply = PrefectureReply(commune_insee=insee, tdt_document_id="9", kind="courrier_simple",
                                received_on=legal_today(), answer_due_on=legal_today())
        act.replies.append(reply)
        db.session.commit()
        file_id, reply_id = act.files[0].id, reply.id
    seance_id, item_id = _foreign_seance(app, collectivity_id, act_id, subject)
    return {"act_id": act_id, "file_id": file_id, "reply_id": reply_id, "insee": insee,
            "seance_id": seance_id, "item_id": item_id, "collectivity_id": collectivity_id}


def _foreign_seance(app, collectivity_id, act_id, subject):
    """A séance of the foreign collectivity with its délibération voted and a procès-verbal waiting for adoption."""
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.actes import seances
    from services.actes.models import Act

    from .fixtures import make_pdf

    with app.test_request_context(), territory_scope(None):
        coll = db.session.get(Collectivity, collectivity_id)
        s = seances.save_seance(coll, None, seances.SeanceFields(legal_today(), "20:00", f"Salle {subject}", 11,
                                                                 ["Secret Présent"], [], [], "Secret Présent"))
        item = seances.attach(s, db.session.get(Act, act_id), seances.Vote(1, 0, 0, True), None)
        seances.upload_pv(s, None, make_pdf(f"PV {subject}"), "pv.pdf")
        db.session.commit()
        return s.id, item.id


@pytest.fixture
def foreign(app, actes_world):
    return _foreign(app, actes_world.b, actes_world.insee_b, B_SUBJECT, B_NUMBER)


MARKERS = [B_SUBJECT, B_NUMBER]


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "elected_a", "secretary_ab"])
def test_users_of_commune_a_never_reach_commune_b(app, world, login_as, foreign, role):
    client = login_as(role, world.a)
    report = check_routes(client, app, foreign, MARKERS, prefixes=PREFIXES)
    report.assert_clean()
    assert len(report.checked) >= 15


def test_epci_user_never_sees_troyes(app, actes_world, login_as):
    ids = _foreign(app, actes_world.troyes, actes_world.insee_troyes, T_SUBJECT, "TROYES_1")
    client = login_as("epci_user")
    report = check_routes(client, app, ids, [T_SUBJECT, "TROYES_1"], prefixes=PREFIXES)
    report.assert_clean()


def test_a_member_commune_does_not_see_its_epci_s_acts(app, actes_world, login_as):
    """Acts belong to the collectivity that took them, not to the territory: the EPCI's act, scoped to a member
    commune for row-level security, is not that commune's."""
    epci_act = make_act(app, actes_world.epci, number="EPCI_1", subject="Objet-de-la-communaute")
    client = login_as("mayor_a")
    assert client.get(f"/s/actes/{epci_act}").status_code == 404
    assert "Objet-de-la-communaute" not in client.get("/s/actes/").get_data(as_text=True)
    assert "Objet-de-la-communaute" in login_as("epci_user").get("/s/actes/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["dept_admin", "dept_agent"])
def test_department_staff_do_not_browse_acts(app, world, login_as, foreign, role):
    """The department's staff reach no mairie, API or public route of B's acts; their own pages
    (/admin/s/actes/…, department-only) show B's account and counts, never an act's objet or number."""
    client = login_as(role)
    report = check_routes(client, app, foreign, MARKERS, prefixes=PREFIXES[:3])
    report.assert_clean()
    department_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin/s/actes")]
    assert len(department_rules) >= 5
    for rule in department_rules:
        url = rule.rule.replace("<int:collectivity_id>", str(foreign["collectivity_id"]))
        body = client.get(url).get_data(as_text=True)
        assert B_SUBJECT not in body and B_NUMBER not in body, url
    page = client.get("/admin/s/actes/").get_data(as_text=True)
    assert "Jaucourt" in page and B_SUBJECT not in page
    assert client.get(f"/admin/s/actes/collectivites/{foreign['collectivity_id']}").status_code == 200


def test_the_owner_sees_its_own_act(app, world, login_as, foreign):
    """The same routes answer B's own people (the check above can fail)."""
    client = login_as("mayor_b")
    assert B_SUBJECT in client.get(f"/s/actes/{foreign['act_id']}").get_data(as_text=True)
    assert client.get(f"/s/actes/{foreign['act_id']}/fichiers/{foreign['file_id']}").status_code == 200
    assert B_SUBJECT in client.get(f"/s/actes/seances/{foreign['seance_id']}").get_data(as_text=True)
    assert client.get(f"/s/actes/seances/{foreign['seance_id']}/proces-verbal.pdf").status_code == 200
    assert client.get(f"/s/actes/seances/{foreign['seance_id']}/liste.pdf").status_code == 200
