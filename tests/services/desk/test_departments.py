"""Several départements on one desk (DESIGN.md §8): the Aube (the session's) and Mayotte (tests/data/territory/976)
side by side. « Toutes les collectivités », « communes », « EPCI » and « abonnés d'un service » mean « … of the
publisher's département » (portal/audiences.py, and the policies of desk_0015_department_audiences on PostgreSQL);
the forum's categories belong to a département; the public pages wear the collectivity's identity.

The department × department matrix of the members: a mairie, an EPCI and a partner of each département over every
route of the desk, with the other département's publications addressed to « all » as the foreign objects."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from tests.conftest import PortalClient, _clean, owner_engine, using_postgres
from tests.helpers.cross_territory import check_routes
from tests.helpers.partners import add_partner
from tests.portal.test_departments import second, signed_in  # noqa: F401 - the Mayotte fixture

DESK_PREFIXES = ("/s/desk", "/p/desk", "/admin/s/desk", "/api/v1/desk")
KINDS = ("all", "communes", "epci", "service", "public")
MAYOTTE_PARTNER = "Association des maires de Mayotte (essai)"


def _publications(app, world, publisher_id, author_id, prefix, category_id, *, asker_id, asker_collectivity):
    """A news item to each kind of KINDS, and — addressed to « all » — a forum thread, a job offer, an event, a
    fiche juridique and a library folder with a document; every title starts with ``prefix``."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from portal.tenancy import territory_scope
    from services.desk import agenda, forum_operations, jobs, library, operations
    from services.desk.models import ForumCategory

    from .files import pdf

    with app.app_context(), territory_scope(None):
        publisher, author = db.session.get(Collectivity, publisher_id), db.session.get(User, author_id)
        everyone = operations.AudienceChoice(kind="all")
        news = {}
        for kind in KINDS:
            choice = operations.AudienceChoice(kind=kind, service_slug="tenders" if kind == "service" else None)
            news[kind] = operations.publish_news(publisher=publisher, author=author, audience=choice,
                                                 title=f"{prefix}-news-{kind}", body="<p>corps</p>",
                                                 pinned=False).id
        thread = forum_operations.ask(db.session.get(ForumCategory, category_id), f"{prefix}-sujet",
                                      f"<p>{prefix}-question</p>", author=db.session.get(User, asker_id),
                                      collectivity=db.session.get(Collectivity, asker_collectivity))
        offer = jobs.publish_offer(publisher=publisher, author=author, audience=everyone, title=f"{prefix}-offre",
                                   grade="", category="C", full_time=True, weekly_hours=None, commune_insee=None,
                                   place="", closes_on=dt.date.today() + dt.timedelta(days=5), description="",
                                   contact="", national_url="")
        start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=5), dt.time(9))
        event = agenda.publish_event(publisher=publisher, author=author, audience=everyone, title=f"{prefix}-atelier",
                                     kind="workshop", starts_at=start, ends_at=start + dt.timedelta(hours=3),
                                     place="", seats=None, registration_open=True, description="")
        sheet = library.publish_sheet(publisher=publisher, author=author, audience=everyone, theme="etat_civil",
                                      title=f"{prefix}-fiche", body="<p>Texte.</p>", legal_refs="")
        folder = library.create_folder(publisher, name=f"{prefix}-dossier", readers="all", by=author)
        document = library.add_document(folder, title=f"{prefix}-document", category="deliberation", by=author,
                                        checked=library.check_file(pdf("corps"), "doc.pdf", library.LIBRARY_KINDS))
        db.session.commit()
        return {"news": news, "thread_id": thread.id, "offer_id": offer.id, "event_id": event.id,
                "sheet_id": sheet.id, "folder_id": folder.id, "document_id": document.id}


@pytest.fixture
def two(app, world, second, partners, password_hash, subscribe):  # noqa: F811
    """The Aube's and Mayotte's publications (by each department, « all » and the other kinds), a forum category
    of each (the same name: « État civil »), one of the whole platform, and a partner attached to Mayotte."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import forum_operations
    from services.desk.models import ForumCategory

    subscribe("tenders", world.a)
    partner976 = add_partner(app, world, password_hash, "may", MAYOTTE_PARTNER)
    with app.app_context():
        db.session.get(Collectivity, partner976).department_code = "976"
        cats = {}
        for key, dept, admin in (("aube", world.dept, world.users["dept_admin"].id),
                                 ("mayotte", second.dept, second.users["admin976"].id)):
            cats[key] = forum_operations.create_category("État civil", "", by=db.session.get(User, admin),
                                                         department=db.session.get(Collectivity, dept)).id
        platform = ForumCategory(name="Annonces de la plateforme", position=0)
        db.session.add(platform)
        db.session.commit()
        cats["platform"] = platform.id
    aube = _publications(app, world, world.dept, world.users["dept_admin"].id, "Aube", cats["aube"],
                         asker_id=world.users["mayor_troyes"].id, asker_collectivity=world.troyes)
    mayotte = _publications(app, world, second.dept, second.users["admin976"].id, "Mayotte", cats["mayotte"],
                            asker_id=second.users["mayor976"].id, asker_collectivity=second.mamoudzou)
    yield SimpleNamespace(aube=aube, mayotte=mayotte, categories=cats, partner976=partner976)
    # Mayotte's publications go before its collectivities (the fixture `second`'s teardown; foreign keys on
    # PostgreSQL), and its partner with them (partners outlive a test).
    _clean(app)
    with app.app_context(), owner_engine(app).begin() as conn:
        conn.execute(Collectivity.__table__.delete().where(Collectivity.id == partner976))


def _client(app, login_as, world, second, who):  # noqa: F811
    if who == "mayor976":
        return signed_in(app, second.users["mayor976"].email)
    if who == "partner_may":
        return signed_in(app, world.users["partner_may"].email)
    return login_as(who)


# who reads what: each département's news to « all », « communes », « EPCI », its subscribers, and both
# départements' public news (the public is anyone's)
READS = {
    "mayor_troyes": {("Aube", "all"), ("Aube", "communes"), ("Aube", "public"), ("Mayotte", "public")},
    "mayor_a": {("Aube", "all"), ("Aube", "communes"), ("Aube", "service"), ("Aube", "public"),
                ("Mayotte", "public")},
    "epci_user": {("Aube", "all"), ("Aube", "epci"), ("Aube", "public"), ("Mayotte", "public")},
    "partner_cdg": {("Aube", "all"), ("Aube", "public"), ("Mayotte", "public")},
    "mayor976": {("Mayotte", "all"), ("Mayotte", "communes"), ("Aube", "public"), ("Mayotte", "public")},
    "partner_may": {("Mayotte", "all"), ("Aube", "public"), ("Mayotte", "public")},
}


@pytest.mark.parametrize("who", sorted(READS))
def test_department_wide_audiences_stay_in_the_publishers_departement(app, world, second, two, login_as, who):  # noqa: F811
    client = _client(app, login_as, world, second, who)
    listing = client.get("/s/desk/").get_data(as_text=True)
    for whose in ("Aube", "Mayotte"):
        news = getattr(two, whose.lower())["news"]
        for kind in KINDS:
            expected = (whose, kind) in READS[who]
            assert (f"{whose}-news-{kind}" in listing) == expected, (who, whose, kind)
            assert client.get(f"/s/desk/actualites/{news[kind]}").status_code == (200 if expected else 404), \
                (who, whose, kind)


MARKERS = ["-news-all", "-news-communes", "-news-epci", "-news-service", "-sujet", "-question", "-offre",
           "-atelier", "-fiche", "-dossier", "-document"]


def _foreign(pub, category_id):
    return {"news_id": pub["news"]["all"], "thread_id": pub["thread_id"], "post_id": 999_999,
            "category_id": category_id, "offer_id": pub["offer_id"], "event_id": pub["event_id"],
            "sheet_id": pub["sheet_id"], "folder_id": pub["folder_id"], "document_id": pub["document_id"],
            "model_id": 999_999, "person_id": 999_999, "collectivity_id": 999_999, "code": "99999",
            "token": "x" * 43, "number": 1}


@pytest.mark.parametrize("who", ["mayor_troyes", "epci_user", "partner_cdg", "mayor976", "partner_may"])
def test_member_matrix_over_the_desk(app, world, second, two, login_as, who):  # noqa: F811
    """Every route of the desk, as a member of one département, with the other's publications to « all », its
    forum category and its thread: refused, and none of their titles shown."""
    home, other = ("Mayotte", "Aube") if who in ("mayor976", "partner_may") else ("Aube", "Mayotte")
    foreign = _foreign(getattr(two, other.lower()), two.categories[other.lower()])
    client = _client(app, login_as, world, second, who)
    report = check_routes(client, app, foreign, [f"{other}{m}" for m in MARKERS], prefixes=DESK_PREFIXES)
    report.assert_clean()
    assert len(report.checked) >= 30
    # its own département's « all » publications it does read
    own = getattr(two, home.lower())
    for url in (f"/s/desk/forum/sujets/{own['thread_id']}", f"/s/desk/emplois/{own['offer_id']}",
                f"/s/desk/agenda/{own['event_id']}", f"/s/desk/fiches/{own['sheet_id']}",
                f"/s/desk/documents/dossiers/{own['folder_id']}"):
        resp = client.get(url)
        assert resp.status_code == 200, (who, url)


def test_forum_categories_belong_to_a_departement(app, world, second, two, login_as):  # noqa: F811
    aube, mayotte, platform = (two.categories[k] for k in ("aube", "mayotte", "platform"))
    for client, own, other in ((login_as("mayor_troyes"), aube, mayotte),
                               (signed_in(app, second.users["mayor976"].email), mayotte, aube),
                               (login_as("dept_admin"), aube, mayotte),
                               (signed_in(app, second.users["admin976"].email), mayotte, aube)):
        index = client.get("/s/desk/forum").get_data(as_text=True)
        assert f"/s/desk/forum/{own}\"" in index and f"/s/desk/forum/{platform}\"" in index
        assert f"/s/desk/forum/{other}\"" not in index
        assert client.get(f"/s/desk/forum/{own}").status_code == 200
        assert client.get(f"/s/desk/forum/{platform}").status_code == 200
        assert client.get(f"/s/desk/forum/{other}").status_code == 404
        assert client.get(f"/s/desk/forum/{other}/nouveau").status_code in (403, 404)
    # each team's moderation page lists its own categories (and the platform's), and moves a thread among them only
    admin976 = signed_in(app, second.users["admin976"].email)
    page = admin976.get("/admin/s/desk/forum").get_data(as_text=True)
    assert "Annonces de la plateforme" in page
    thread = two.mayotte["thread_id"]
    token = admin976.csrf(f"/s/desk/forum/sujets/{thread}")
    from portal.extensions import db
    from services.desk.models import ForumThread

    def category_of(thread_id):
        with app.app_context():
            return db.session.get(ForumThread, thread_id).category_id

    moved = admin976.http.post(f"/s/desk/forum/sujets/{thread}/moderer",
                               data={"csrf_token": token, "action": "move", "category": str(aube)})
    assert moved.status_code in (302, 400) and category_of(thread) == mayotte
    assert admin976.http.post(f"/s/desk/forum/sujets/{thread}/moderer", data={
        "csrf_token": token, "action": "move", "category": str(platform)}).status_code == 302
    assert category_of(thread) == platform


def test_a_team_adds_categories_to_its_own_forum(app, world, second, two, login_as):  # noqa: F811
    from portal.extensions import db
    from services.desk.models import ForumCategory

    admin976 = signed_in(app, second.users["admin976"].email)
    token = admin976.csrf("/admin/s/desk/forum")
    resp = admin976.http.post("/admin/s/desk/forum", data={"csrf_token": token, "name": "Urbanisme",
                                                           "description": ""})
    assert resp.status_code == 302
    # the same name in its own forum is refused, as is the platform's
    for name in ("Urbanisme", "Annonces de la plateforme"):
        again = admin976.http.post("/admin/s/desk/forum", data={"csrf_token": token, "name": name, "description": ""})
        assert "Cette catégorie existe déjà" in again.get_data(as_text=True), name
    with app.app_context():
        assert db.session.scalars(select(ForumCategory.department_code).where(
            ForumCategory.name == "Urbanisme")).all() == ["976"]
    assert "Urbanisme" not in login_as("mayor_troyes").get("/s/desk/forum").get_data(as_text=True)


def test_python_rule_matches_the_query_rule(app, world, second, two):  # noqa: F811
    """``holds`` / ``may_read`` (e-mails, digests) say what the query filter says, per département."""
    from portal.audiences import Viewer, audience_scope, may_read
    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk.models import NewsItem

    with app.app_context():
        for cid in (world.troyes, world.a, world.epci, second.mamoudzou, two.partner976):
            with audience_scope(None):
                viewer = Viewer.of(db.session.get(Collectivity, cid))
                rows = db.session.scalars(select(NewsItem)).all()
            with audience_scope(viewer):
                seen = set(db.session.scalars(select(NewsItem.id)))
            assert seen == {n.id for n in rows if may_read(n, viewer)}, cid
            assert seen, cid


def test_an_epci_straddling_two_departements_hears_both(app, world, second, two):  # noqa: F811
    from portal.audiences import Viewer, audience_scope
    from portal.extensions import db
    from portal.models import Collectivity, epci_members
    from services.desk.models import NewsItem

    with app.app_context():
        with owner_engine(app).begin() as conn:  # reference data: the application role does not write it
            conn.execute(epci_members.insert().values(epci_id=world.epci, commune_id=second.mamoudzou))
        try:
            with audience_scope(None):
                viewer = Viewer.of(db.session.get(Collectivity, world.epci))
            assert viewer.departments == frozenset({"10", "976"})
            with audience_scope(viewer):
                titles = set(db.session.scalars(select(NewsItem.title)))
            assert {"Aube-news-epci", "Mayotte-news-epci", "Mayotte-news-all"} <= titles
            assert "Mayotte-news-communes" not in titles
        finally:
            db.session.remove()
            with owner_engine(app).begin() as conn:
                conn.execute(epci_members.delete().where(epci_members.c.commune_id == second.mamoudzou))


def _migration():
    path = Path(__file__).parents[3] / "services" / "desk" / "migrations" / "desk_0015_department_audiences.py"
    spec = importlib.util.spec_from_file_location("desk_0015_department_audiences", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_gives_existing_rows_their_departement(app, world, second, two):  # noqa: F811
    """The data step of desk_0015 on rows as they were before it: audiences take their publisher's département,
    categories the département of the team that created them (journal), others stay the platform's."""
    from portal.audiences import Audience
    from services.desk.models import ForumCategory

    migration = _migration()
    with app.app_context():
        with owner_engine(app).begin() as conn:
            conn.execute(Audience.__table__.update().values(department_code=None))
            conn.execute(ForumCategory.__table__.update().values(department_code=None))
            conn.execute(text(migration.FILL_AUDIENCES))
            for statement in migration.FILL_CATEGORIES:
                conn.execute(text(statement))
            audiences = conn.execute(text(
                "SELECT c.department_code, a.department_code FROM audience a "
                "JOIN collectivity c ON c.id = a.publisher_id")).all()
            categories = dict(conn.execute(select(ForumCategory.id, ForumCategory.department_code)).all())
    assert audiences and all(pub == code for pub, code in audiences)
    assert {code for _pub, code in audiences} == {"10", "976"}
    assert categories == {two.categories["aube"]: "10", two.categories["mayotte"]: "976",
                          two.categories["platform"]: None}


def test_public_pages_wear_the_collectivitys_departement(app, world, second, two):  # noqa: F811
    """The directory's public page of a commune and a public job offer: the identity of their département."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import jobs, operations

    with app.app_context():
        offer = jobs.publish_offer(publisher=db.session.get(Collectivity, second.dept),
                                   author=db.session.get(User, second.users["admin976"].id),
                                   audience=operations.AudienceChoice(kind="public"), title="Secrétaire de mairie",
                                   grade="", category="C", full_time=True, weekly_hours=None, commune_insee="97611",
                                   place="", closes_on=dt.date.today() + dt.timedelta(days=5), description="",
                                   contact="", national_url="")
        db.session.commit()
        offer_id = offer.id
    anonymous = PortalClient(app)
    for url in ("/p/desk/annuaire/97611", f"/p/desk/emplois/{offer_id}"):
        resp = anonymous.get(url)
        assert resp.status_code == 200, url
        body = resp.get_data(as_text=True)
        assert "Extranet des communes de Mayotte" in body and "/p/identite.css?d=976" in body, url
        assert "Extranet des collectivités de l&#39;Aube" not in body, url
    aube = anonymous.get("/p/desk/annuaire/10002").get_data(as_text=True)
    assert "Extranet des collectivités de l&#39;Aube" in aube and "Mayotte" not in aube


# Row-level security (PostgreSQL): raw SQL on the application role's connections, the same rule ------------------
@pytest.mark.postgres
@pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)")
@pytest.mark.parametrize("who", ["troyes", "a", "epci", "mamoudzou", "partner976"])
def test_raw_sql_keeps_each_departement_to_itself(app, world, second, two, who):  # noqa: F811
    from portal.audiences import Viewer, audience_scope, set_viewer
    from portal.extensions import db
    from portal.models import Collectivity

    cid = {"mamoudzou": second.mamoudzou, "partner976": two.partner976}.get(who) or getattr(world, who)
    with app.app_context():
        with audience_scope(None):
            viewer = Viewer.of(db.session.get(Collectivity, cid))
        with audience_scope(viewer):  # what the ORM filter lets through
            from services.desk.models import NewsItem

            expected = set(db.session.scalars(select(NewsItem.title)))
        db.session.remove()
        with db.engine.connect() as conn:
            try:
                set_viewer(conn, viewer)
                news = {t for (t,) in conn.execute(text("SELECT title FROM desk_news"))}
                search = {t for (t,) in conn.execute(text(
                    "SELECT s.title FROM desk_search_window(websearch_to_tsquery('desk_french', 'corps'), 500) w "
                    "JOIN desk_search s ON s.id = w.id"))}
                threads = {t for (t,) in conn.execute(text("SELECT title FROM desk_forum_thread"))}
            finally:
                conn.rollback()
    home = "Mayotte" if who in ("mamoudzou", "partner976") else "Aube"
    other = "Aube" if home == "Mayotte" else "Mayotte"
    assert news == expected
    assert f"{home}-news-all" in news and f"{other}-news-all" not in news and f"{other}-news-public" in news
    assert {t for t in search if "-news-" in t} == {t for t in news if "-news-" in t}
    assert f"{other}-sujet" not in threads and f"{home}-sujet" in threads


@pytest.mark.postgres
@pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)")
@pytest.mark.parametrize("who", ["troyes", "epci", "dept", "mamoudzou", "partner976", "dept976"])
def test_raw_sql_shows_each_departement_its_forum_categories(app, world, second, two, who):  # noqa: F811
    """desk_0016_forum_category_rls: as the app role, another département's category row is invisible (its team's
    too, although a team's app.viewer is « * ») and cannot be written; the platform's stays visible to all."""
    from sqlalchemy.exc import DBAPIError

    from portal.audiences import Viewer, audience_scope, set_viewer
    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk.models import ForumCategory

    cid = {"mamoudzou": second.mamoudzou, "partner976": two.partner976, "dept976": second.dept}.get(who) \
        or getattr(world, who)
    home, other = ("mayotte", "aube") if who in ("mamoudzou", "partner976", "dept976") else ("aube", "mayotte")
    cats = two.categories
    with app.app_context():
        with audience_scope(None):
            viewer = Viewer.of(db.session.get(Collectivity, cid))
        with audience_scope(viewer):  # what the ORM criterion lets through
            expected = set(db.session.scalars(select(ForumCategory.id)))
        db.session.remove()
        with db.engine.connect() as conn:
            try:
                set_viewer(conn, viewer)
                seen = set(conn.execute(text("SELECT id FROM desk_forum_category")).scalars())
                moved = conn.execute(text("UPDATE desk_forum_category SET position = 7 WHERE id = :i"),
                                     {"i": cats[other]}).rowcount
                code = "976" if other == "mayotte" else "10"
                with pytest.raises(DBAPIError, match="row-level security"):
                    with conn.begin_nested():
                        conn.execute(text("INSERT INTO desk_forum_category (name, description, position, "
                                          "department_code) VALUES ('Intrus', '', 0, :c)"), {"c": code})
                # settings emptied (as on a connection that never set them): the platform's categories only
                conn.execute(text("SELECT set_config('app.viewer', '', true), "
                                  "set_config('app.viewer_departments', '', true)"))
                unset = set(conn.execute(text("SELECT id FROM desk_forum_category")).scalars())
            finally:
                conn.rollback()
    assert cats[home] in seen and cats["platform"] in seen and cats[other] not in seen
    assert seen == expected
    assert moved == 0
    assert cats["platform"] in unset and cats[home] not in unset


@pytest.mark.postgres
@pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)")
def test_forum_pages_read_the_categories_under_row_level_security(app, world, second, two, login_as):  # noqa: F811
    """The requests set app.viewer_departments before reading categories alone (portal.audiences syncs the
    settings for DepartmentScoped statements): each team's forum pages list its categories, another's stays 404."""
    for client, own, other in ((login_as("dept_admin"), "aube", "mayotte"),
                               (signed_in(app, second.users["admin976"].email), "mayotte", "aube")):
        assert client.get(f"/s/desk/forum/{two.categories[own]}").status_code == 200
        assert client.get(f"/s/desk/forum/{two.categories[other]}").status_code == 404
        assert "Annonces de la plateforme" in client.get("/admin/s/desk/forum").get_data(as_text=True)
