"""The cross-territory sweep over the desk's routes, with a foreign collectivity and a partner as viewers, and the
rule that a partner reaches nothing of the portal but the desk."""
from __future__ import annotations

import pytest

from tests.helpers.cross_territory import REFUSED, check_routes

SECRET = "Note-reservee-a-Jaucourt"
DESK_PREFIXES = ("/s/desk", "/p/desk", "/admin/s/desk", "/api/v1/desk")


@pytest.fixture
def foreign(app, world, partners, publish, category, private_thread, library_doc, publish_sheet):
    """A news item, a forum thread, a job offer, an event and a fiche juridique addressed to Jaucourt alone (a
    hand-picked list), by the department; an elected official of Jaucourt's directory entry; a folder of Jaucourt's
    own library read by Jaucourt alone, with a document and a model document."""
    from portal.extensions import db
    from portal.models import User
    from services.desk import library
    from services.desk.library_models import LegalSheet

    from .files import docx

    news_id = publish(SECRET, "list", member_ids=(world.b,), body=f"<p>{SECRET}-corps</p>")
    thread_id, post_id = private_thread
    offer_id, event_id, person_id = _jaucourt_only(app, world)
    folder_id, document_id = library_doc(world.b, "own", f"{SECRET}-document", author="mayor_b",
                                         folder_name=f"{SECRET}-dossier")
    sheet_id = publish_sheet(f"{SECRET}-fiche", "list", member_ids=(world.b,), body=f"<p>{SECRET}-fiche-corps</p>")
    with app.app_context():
        model = library.attach_model(db.session.get(LegalSheet, sheet_id),
                                     checked=library.check_file(docx(), f"{SECRET}-modele.docx", library.MODEL_KINDS),
                                     by=db.session.get(User, world.users["dept_admin"].id))
        db.session.commit()
        model_id = model.id
    # Categories are shared by every member of a département (no audience): there is no foreign one in the Aube, so
    # an unknown id stands for it and the real category's page is checked apart (its list must not show the thread);
    # the department × department matrix below has a category of each département.
    # The directory is read by every member (reference data, like categories): an unknown collectivity stands for
    # the foreign one; Jaucourt's elected official is the foreign object of the mairie's own pages.
    return {"news_id": news_id, "token": "x" * 43, "category_id": 999_999, "thread_id": thread_id,
            "post_id": post_id, "_category": category, "offer_id": offer_id, "event_id": event_id,
            "person_id": person_id, "collectivity_id": 999_999, "code": "99999", "folder_id": folder_id,
            "document_id": document_id, "number": 1, "sheet_id": sheet_id, "model_id": model_id}


def _jaucourt_only(app, world):
    import datetime as dt

    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import agenda, directory, jobs, operations

    with app.app_context():
        dept, jaucourt = db.session.get(Collectivity, world.dept), db.session.get(Collectivity, world.b)
        admin = db.session.get(User, world.users["dept_admin"].id)
        only_b = operations.AudienceChoice(kind="list", member_ids=(world.b,))
        offer = jobs.publish_offer(publisher=dept, author=admin, audience=only_b, title="Offre-reservee-a-Jaucourt",
                                   grade="", category="C", full_time=True, weekly_hours=None, commune_insee=None,
                                   place="", closes_on=dt.date.today() + dt.timedelta(days=5), description="",
                                   contact="", national_url="")
        start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=5), dt.time(9))
        event = agenda.publish_event(publisher=dept, author=admin, audience=operations.AudienceChoice(
            kind="list", member_ids=(world.b,)), title="Atelier-reserve-a-Jaucourt", kind="workshop",
            starts_at=start, ends_at=start + dt.timedelta(hours=3), place="", seats=None, registration_open=True,
            description="")
        person = directory.add_person(jaucourt, by=db.session.get(User, world.users["mayor_b"].id),
                                      name="Elu-non-publie-de-Jaucourt", role="deputy", published=False)
        db.session.commit()
        return offer.id, event.id, person.id


@pytest.mark.parametrize("role", ["mayor_troyes", "mayor_a", "epci_user", "partner_cdg", "mayor_c"])
def test_nobody_outside_the_audience_reaches_the_news(app, world, login_as, foreign, role):
    report = check_routes(login_as(role), app, foreign, [SECRET, f"{SECRET}-corps", "Sujet-reserve-a-Jaucourt",
                                                         "Corps-reserve-a-Jaucourt", "Offre-reservee-a-Jaucourt",
                                                         "Atelier-reserve-a-Jaucourt", "Elu-non-publie-de-Jaucourt"],
                          prefixes=DESK_PREFIXES)
    report.assert_clean()
    client = login_as(role)
    for url in (f"/s/desk/forum/{foreign['_category']}", "/s/desk/forum", "/s/desk/documents", "/s/desk/fiches",
                "/s/desk/recherche?q=reservee", "/s/desk/recherche?q=corps fiche"):
        body = client.get(url).get_data(as_text=True)
        assert "Sujet-reserve-a-Jaucourt" not in body and SECRET not in body, url
    assert len(report.checked) >= 30


def test_the_sweep_catches_a_leak_when_the_filter_is_off(app, world, login_as, foreign):
    from portal.audiences import audience_scope

    with audience_scope(None):
        report = check_routes(login_as("mayor_troyes"), app, foreign, [SECRET], prefixes=("/s/desk",))
    assert any(SECRET in f.problem for f in report.findings)


def _dummy(rule):
    from werkzeug.routing import FloatConverter, IntegerConverter

    values = {}
    for name in rule.arguments:
        numeric = isinstance(rule._converters[name], (IntegerConverter, FloatConverter))
        values[name] = 1 if numeric else "x"
    return values


def test_a_partner_reaches_nothing_of_the_portal_but_the_desk(app, world, login_as, partners):
    """Every page of every other service, of the mairie and of the department: refused to a partner's publisher."""
    from flask import url_for

    client = login_as("partner_cdg")
    token = client.csrf("/profil")
    checked = 0
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if not path.startswith(("/s/", "/api/v1/", "/admin", "/mairie")) or path.startswith(DESK_PREFIXES):
            continue
        if path in ("/api/v1/me", "/api/v1/openapi.json"):
            continue  # the person's own description, and the API's
        with app.test_request_context():
            url = url_for(rule.endpoint, **_dummy(rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.http.open(url, method=method, data={"csrf_token": token})
            assert resp.status_code in REFUSED, (method, url, resp.status_code)
            checked += 1
    assert checked > 100
    home = client.get("/").get_data(as_text=True)
    assert "/s/desk/" in home and "/s/electoral/" not in home and "/s/tenders/" not in home


# Department × department (DESIGN.md §8): the Aube's team and Mayotte's (tests/data/territory/976) on one instance.
from tests.portal.test_departments import second, signed_in  # noqa: E402,F401 - the Mayotte fixture

MAYOTTE_SECRET = "Actualite-de-Mayotte-seulement"


def _mayotte_objects(app, second):  # noqa: F811
    """A news item of Mayotte's department to all (its communes), a category of Mayotte's forum, a thread of
    Mamoudzou in it with a message reported."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Collectivity, User
    from portal.tenancy import territory_scope
    from services.desk import forum_operations, operations
    from services.desk.models import ForumPost, ForumReport

    with app.app_context(), territory_scope(None):
        dept, mamoudzou = db.session.get(Collectivity, second.dept), db.session.get(Collectivity, second.mamoudzou)
        admin, mayor = db.session.get(User, second.users["admin976"].id), db.session.get(User, second.users["mayor976"].id)
        news = operations.publish_news(publisher=dept, author=admin, audience=operations.AudienceChoice(kind="all"),
                                       title=MAYOTTE_SECRET, body=f"<p>{MAYOTTE_SECRET}-corps</p>", pinned=False)
        category = forum_operations.create_category("Questions de Mayotte", "", by=admin, department=dept)
        thread = forum_operations.ask(category, "Sujet-de-Mayotte",
                                      "<p>Corps-de-Mayotte</p>", author=mayor, collectivity=mamoudzou)
        post = db.session.scalar(select(ForumPost).where(ForumPost.thread_id == thread.id))
        db.session.add(ForumReport(post_id=post.id, reason="Signalement-de-Mayotte"))
        db.session.commit()
        return {"news_id": news.id, "thread_id": thread.id, "post_id": post.id, "category_id": category.id,
                "collectivity_id": second.mamoudzou, "code": "97611"}


def test_department_matrix_over_the_desk(app, world, login_as, foreign, second):  # noqa: F811
    """Publication, moderation and the directory's administration, per département: each team's pages show and
    reach its own collectivities' publications only (portal.tenancy.administered_ids), whatever their audience."""
    from portal.extensions import db
    from services.desk.models import ForumReport
    from tests.helpers.cross_territory import check_department_matrix

    with app.app_context():
        db.session.add(ForumReport(post_id=foreign["post_id"], reason="Signalement-de-l-Aube"))
        db.session.commit()
    unknown = {k: 999_999 for k in foreign if not k.startswith("_")}
    aube_ids = {**foreign, "collectivity_id": world.b, "code": world.insee_b, "category_id": foreign["_category"]}
    mayotte_ids = {**unknown, "token": "x" * 43, **_mayotte_objects(app, second)}
    objects = {
        "aube": (aube_ids, [SECRET, "Sujet-reserve-a-Jaucourt", "Corps-reserve-a-Jaucourt", "Offre-reservee-a-Jaucourt",
                            "Atelier-reserve-a-Jaucourt", "Elu-non-publie-de-Jaucourt", "Signalement-de-l-Aube",
                            "Actes, livret de famille"]),
        "mayotte": (mayotte_ids, [MAYOTTE_SECRET, "Sujet-de-Mayotte", "Signalement-de-Mayotte",
                                  "Questions de Mayotte"]),
    }
    try:
        clients = {"aube": login_as("dept_admin"), "mayotte": signed_in(app, second.users["admin976"].email)}
        report = check_department_matrix(app, clients, objects, prefixes=DESK_PREFIXES)
        report.assert_clean()
        assert len(report.checked) >= 2 * 30
        # Each team still has its own part: its moderation page lists its own reported messages.
        assert "Signalement-de-l-Aube" in clients["aube"].get("/admin/s/desk/forum").get_data(as_text=True)
        assert "Signalement-de-Mayotte" in clients["mayotte"].get("/admin/s/desk/forum").get_data(as_text=True)
        assert MAYOTTE_SECRET in clients["mayotte"].get("/s/desk/").get_data(as_text=True)
        assert MAYOTTE_SECRET not in clients["aube"].get("/s/desk/").get_data(as_text=True)
    finally:  # Mayotte's publications go before its collectivities (the fixture's teardown; foreign keys on PostgreSQL)
        from portal.audiences import audience_member
        from services.desk.models import ForumThread, NewsItem, SearchEntry
        from tests.conftest import owner_engine

        with owner_engine(app).begin() as conn:
            for model in (SearchEntry, ForumThread, NewsItem):
                conn.execute(model.__table__.delete().where(model.__table__.c.publisher_id.in_(
                    [second.dept, second.mamoudzou])))
            conn.execute(audience_member.delete().where(audience_member.c.collectivity_id.in_(
                [second.dept, second.mamoudzou])))
