"""The directory and the communes' public pages: the mairie edits its own entry (audited), members read every entry,
residents read only what the mairie published, a commune's page shows the services it uses and nothing else; the
portal's public home page."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

ENTRY = {"address": "1 place de la Mairie\n10200 Ailleville", "opening_hours": "Lundi 9h-12h\nJeudi 14h-18h",
         "phone": "03 25 27 00 00", "email": "mairie@ailleville.test.example.org",
         "website": "https://ailleville.test.example.org", "latitude": "48.2544", "longitude": "4.6729"}


@pytest.fixture
def ailleville_entry(login_as):
    """Ailleville's mayor fills the entry: everything but the e-mail published; a published mayor and an unpublished
    councillor."""
    mayor = login_as("mayor_a")
    data = dict(ENTRY, publish_address="y", publish_hours="y", publish_phone="y", publish_website="y")
    assert mayor.post("/s/desk/annuaire/ma-fiche", data, csrf_from="/s/desk/annuaire/ma-fiche").status_code == 302
    for name, role, published in (("Jeanne Maire-Publiee", "mayor", "y"), ("Paul Conseiller-Prive", "councillor", "")):
        form = {"name": name, "role": role, "delegation": "", "published": published}
        if not published:
            form.pop("published")
        assert mayor.post("/s/desk/annuaire/ma-fiche/elus", form, csrf_from="/s/desk/annuaire/ma-fiche").status_code == 302
    return mayor


def test_the_mairie_edits_its_entry_and_every_change_is_audited(app, world, ailleville_entry):
    from portal.extensions import db
    from portal.models import AuditEvent

    page = ailleville_entry.get("/s/desk/annuaire/ma-fiche").get_data(as_text=True)
    assert "Jeanne Maire-Publiee" in page and "03 25 27 00 00" in page
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("desk.directory%"))
                                    .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["desk.directory_edited", "desk.directory_person_added",
                                              "desk.directory_person_added"]
        assert all(e.collectivity_id == world.a for e in events)
        assert "opening_hours" in events[0].details["fields"]
    journal = ailleville_entry.get("/mairie/journal").get_data(as_text=True)
    assert "Annuaire\u00a0: fiche modifiée" in journal and "Annuaire\u00a0: élu ajouté" in journal


def test_members_read_the_whole_entry_residents_only_what_is_published(app, world, login_as, partners,
                                                                       ailleville_entry):
    from tests.conftest import PortalClient

    for login in ("mayor_troyes", "partner_cdg"):  # another commune, the centre de gestion
        member = login_as(login).get(f"/s/desk/annuaire/{world.a}").get_data(as_text=True)
        assert "Paul Conseiller-Prive" in member and "mairie@ailleville.test.example.org" in member
        assert "non affiché aux habitants" in member
    public = PortalClient(app).get(f"/p/desk/annuaire/{world.insee_a}")
    assert public.status_code == 200
    body = public.get_data(as_text=True)
    assert "Jeanne Maire-Publiee" in body and "Lundi 9h-12h" in body and "03 25 27 00 00" in body
    assert "Paul Conseiller-Prive" not in body and "mairie@ailleville.test.example.org" not in body
    assert "Membre de" in body and "portal-map" in body
    # Nothing of the accounts either: names and e-mails of the mairie's users never appear.
    assert world.users["mayor_a"].email not in body and world.users["secretary_a"].email not in body


def test_the_mairie_hides_an_official_again_and_removes_one(app, world, ailleville_entry, login_as):
    from portal.extensions import db
    from services.desk.models_public import DirectoryPerson
    from tests.conftest import PortalClient

    with app.app_context():
        jeanne = db.session.scalar(select(DirectoryPerson).where(DirectoryPerson.name == "Jeanne Maire-Publiee")).id
        paul = db.session.scalar(select(DirectoryPerson).where(DirectoryPerson.name == "Paul Conseiller-Prive")).id
    base = "/s/desk/annuaire/ma-fiche/elus"
    assert login_as("mayor_b").post(f"{base}/{jeanne}/retirer", {}, csrf_from="/profil").status_code == 404
    assert ailleville_entry.post(f"{base}/{jeanne}/publication", {"published": "0"},
                                 csrf_from="/profil").status_code == 302
    assert ailleville_entry.post(f"{base}/{paul}/retirer", {}, csrf_from="/profil").status_code == 302
    body = PortalClient(app).get(f"/p/desk/annuaire/{world.insee_a}").get_data(as_text=True)
    assert "Jeanne Maire-Publiee" not in body and "Paul Conseiller-Prive" not in body
    assert "Aucun élu n'est indiqué" in body
    assert login_as("elected_a").get("/s/desk/annuaire/ma-fiche").status_code == 403


def test_bad_input_in_the_entry_gets_french_messages(login_as):
    mayor = login_as("mayor_a")
    resp = mayor.post("/s/desk/annuaire/ma-fiche", {"website": "javascript:alert(1)", "phone": "<script>",
                                                    "latitude": "48.2"}, csrf_from="/s/desk/annuaire/ma-fiche")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "https://" in body and "chiffres" in body
    resp = mayor.post("/s/desk/annuaire/ma-fiche", {"latitude": "48.2"}, csrf_from="/s/desk/annuaire/ma-fiche")
    assert "latitude et la longitude" in resp.get_data(as_text=True)


def test_a_commune_page_shows_only_the_services_it_uses(app, world, subscribe, partners):
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import jobs, operations
    from tests.conftest import PortalClient

    client = PortalClient(app)
    bare = client.get(f"/p/desk/annuaire/{world.insee_a}").get_data(as_text=True)
    for href in (f"/p/actes/{world.insee_a}/", f"/p/alerts/{world.insee_a}/", "/p/tenders/?acheteur="):
        assert href not in bare
    subscribe("actes", world.a)
    subscribe("alerts", world.a)
    subscribe("tenders", world.a)
    with app.app_context():
        for kind, title in (("public", "Agent-polyvalent-public"), ("all", "Agent-reserve-aux-membres")):
            jobs.publish_offer(publisher=db.session.get(Collectivity, world.a),
                               author=db.session.get(User, world.users["mayor_a"].id),
                               audience=operations.AudienceChoice(kind=kind), title=title, grade="", category="C",
                               full_time=True, weekly_hours=None, commune_insee=world.insee_a, place="",
                               closes_on=dt.date.today() + dt.timedelta(days=3), description="", contact="",
                               national_url="")
        db.session.commit()
    body = client.get(f"/p/desk/annuaire/{world.insee_a}").get_data(as_text=True)
    assert f'href="/p/actes/{world.insee_a}/"' in body and f'href="/p/alerts/{world.insee_a}/"' in body
    assert f'href="/p/tenders/?acheteur={world.a}"' in body
    assert "Agent-polyvalent-public" in body and "Agent-reserve-aux-membres" not in body
    for link in (f"/p/actes/{world.insee_a}/", f"/p/alerts/{world.insee_a}/"):
        assert client.get(link).status_code == 200, link  # each block leads to a page that exists
    troyes = client.get(f"/p/desk/annuaire/{world.insee_troyes}").get_data(as_text=True)
    assert "/p/actes/" not in troyes and "Agent-polyvalent-public" not in troyes
    assert client.get("/p/desk/annuaire/00000").status_code == 404


def test_directory_search_with_accents_and_postal_codes(app, world):
    from tests.conftest import PortalClient

    client = PortalClient(app)
    body = client.get("/p/desk/annuaire?q=region+de+bar").get_data(as_text=True)
    assert "CC de la Région de Bar sur Aube" in body
    assert "Jaucourt" in client.get("/p/desk/annuaire?q=JAUCOURT").get_data(as_text=True)
    epci = client.get("/p/desk/annuaire/241000405").get_data(as_text=True)
    assert "Communes membres" in epci and "Ailleville" in epci and "Jaucourt" in epci
    assert "Aucune commune" in client.get("/p/desk/annuaire?q=zzzz").get_data(as_text=True)


def test_the_public_home_page_for_people_without_an_account(app, world):
    from tests.conftest import PortalClient

    resp = PortalClient(app).get("/")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    for href in ('href="/connexion"', 'href="/p/tenders/"', 'href="/p/desk/emplois"', 'href="/p/desk/annuaire"',
                 'action="/p/desk/annuaire"'):
        assert href in body, href
    assert "Se connecter" in body and "Trouver votre commune" in body
