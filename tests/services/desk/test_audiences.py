"""The audience matrix: each kind of audience × each kind of viewer, through the pages (the query layer of
portal/audiences.py decides; the views say nothing about it)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

KINDS = ("all", "communes", "epci", "epci_members", "service", "list", "public")

# viewer → the audience kinds it reads (Ailleville, Jaucourt and Fravaux are members of the CC de la Région de
# Bar-sur-Aube, Troyes is not; only Ailleville subscribes to tenders; the list is Jaucourt + the EPCI; Fravaux has no
# convention in force: the desk needs none).
EXPECTED = {
    "member_commune": {"all", "communes", "epci_members", "service", "public"},  # Ailleville
    "listed_commune": {"all", "communes", "epci_members", "list", "public"},  # Jaucourt
    "epci": {"all", "epci", "epci_members", "list", "public"},
    "other_commune": {"all", "communes", "public"},  # Troyes
    "commune_without_convention": {"all", "communes", "epci_members", "public"},  # Fravaux
    "partner": {"all", "public"},
    "department": set(KINDS),
}
LOGINS = {"member_commune": "mayor_a", "listed_commune": "mayor_b", "epci": "epci_user",
          "other_commune": "mayor_troyes",
          "commune_without_convention": "mayor_c", "partner": "partner_cdg", "department": "dept_admin"}


def title(kind):
    return f"Message-pour-{kind}-fin"


@pytest.fixture
def matrix(app, world, partners, publish, subscribe):
    from portal.extensions import db
    from portal.models import Collectivity

    subscribe("tenders", world.a)
    with app.app_context():
        fravaux = db.session.get(Collectivity, world.c)
        assert world.epci in {e.id for e in fravaux.epcis}, "the matrix assumes Fravaux is in the EPCI"
    extra = {"epci_members": {"epci_id": world.epci}, "service": {"service_slug": "tenders"},
             "list": {"member_ids": (world.b, world.epci)}}
    return {kind: publish(title(kind), kind, **extra.get(kind, {})) for kind in KINDS}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_each_viewer_reads_exactly_what_is_addressed_to_it(login_as, world, matrix, viewer):
    client = login_as(LOGINS[viewer])
    listing = client.get("/s/desk/")
    assert listing.status_code == 200
    body = listing.get_data(as_text=True)
    for kind, news_id in matrix.items():
        item = client.get(f"/s/desk/actualites/{news_id}")
        if kind in EXPECTED[viewer]:
            assert title(kind) in body, (viewer, kind)
            assert item.status_code == 200, (viewer, kind)
        else:
            assert title(kind) not in body, (viewer, kind)
            assert item.status_code == 404, (viewer, kind)
    # the home page's news panel (its own statement, columns only) under the same filter
    home = client.get("/")
    if home.status_code == 200 and "news-panel" in home.get_data(as_text=True):
        shown = {kind for kind in KINDS if title(kind) in home.get_data(as_text=True)}
        assert shown and shown <= EXPECTED[viewer], (viewer, shown)


def test_a_partner_reads_what_it_published_whatever_the_audience(login_as, world, partners, publish):
    own = publish("Offre-du-CDG-aux-communes", "communes", publisher=partners.cdg, author="partner_cdg")
    other = publish("Offre-de-l-AMF-aux-communes", "communes", publisher=partners.amf, author="partner_amf")
    client = login_as("partner_cdg")
    body = client.get("/s/desk/").get_data(as_text=True)
    assert "Offre-du-CDG-aux-communes" in body and "Offre-de-l-AMF-aux-communes" not in body
    assert client.get(f"/s/desk/actualites/{other}").status_code == 404
    assert client.get(f"/s/desk/actualites/{own}").status_code == 200


def test_nobody_signed_in_reads_public_news_only(app, world, matrix):
    from portal.audiences import PUBLIC_VIEWER, audience_scope
    from portal.extensions import db
    from services.desk.models import NewsItem

    with app.test_request_context("/"):
        from flask import g

        g.collectivity = None
        titles = {n.title for n in db.session.scalars(select(NewsItem))}
        with audience_scope(PUBLIC_VIEWER):
            assert {n.title for n in db.session.scalars(select(NewsItem))} == titles
    assert titles == {title("public")}


def test_updates_and_deletes_are_narrowed_too(app, world, partners, matrix):
    """An UPDATE through the ORM as a commune touches only the rows it may read."""
    from sqlalchemy import update

    from portal.audiences import Viewer, audience_scope
    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk.models import NewsItem

    with app.app_context():
        troyes = db.session.get(Collectivity, world.troyes)
        with audience_scope(Viewer.of(troyes)):
            result = db.session.execute(update(NewsItem).values(pinned=True))
        db.session.commit()
        pinned = set(db.session.scalars(select(NewsItem.title).where(NewsItem.pinned)))
    assert result.rowcount == 3
    assert pinned == {title(k) for k in EXPECTED["other_commune"]}


def test_the_matrix_fails_when_the_filter_is_lifted(login_as, world, matrix):
    """Proof that the test can fail: lift the audience filter and Troyes sees the EPCI's news."""
    from portal.audiences import audience_scope

    client = login_as("mayor_troyes")
    with audience_scope(None):
        body = client.get("/s/desk/").get_data(as_text=True)
    assert title("epci_members") in body


@pytest.mark.parametrize("shape", ("join", "aliased_subquery", "column_subquery", "where_subquery"))
def test_scoped_rows_named_anywhere_in_a_statement_are_narrowed(app, world, matrix, shape):
    """The filter covers every audience-scoped class a statement names — joined, in a sub-query of a column (aliased
    or not) or of the WHERE clause — not only the entity at its top (``portal.audiences.touched_classes``). Each
    matrix news has its search entry under the same audience: Troyes reads 3 of the 7. (An alias of a scoped class
    as the target of a join is refused by SQLAlchemy's adaptation of the criterion — an error, never a leak — as it
    was before; no code of the portal joins one.)"""
    from sqlalchemy import func
    from sqlalchemy.orm import aliased

    from portal.audiences import Viewer, audience_scope
    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk.models import NewsItem, SearchEntry

    def run():
        """How many search entries of news the statement reaches, through the news every viewer reads."""
        news = select(NewsItem.title).where(NewsItem.title == title("all"))
        if shape == "join":
            # the entries are joined, not selected: only the tables of the statement name them
            return len(db.session.execute(news.join(SearchEntry, SearchEntry.kind == "news")).all())
        if shape == "aliased_subquery":
            entry = aliased(SearchEntry)
            count = select(func.count(entry.id)).where(entry.kind == "news").scalar_subquery()
            return db.session.execute(news.add_columns(count)).one()[1]
        count = select(func.count(SearchEntry.id)).where(SearchEntry.kind == "news").scalar_subquery()
        if shape == "column_subquery":
            return db.session.execute(news.add_columns(count)).one()[1]
        return sum(len(db.session.execute(news.where(count == n)).all()) * n for n in range(8))

    with app.app_context():
        troyes = db.session.get(Collectivity, world.troyes)
        with audience_scope(None):
            assert run() == 7  # the statement reaches every entry when nothing is filtered
        with audience_scope(Viewer.of(troyes)):
            assert run() == len(EXPECTED["other_commune"])


def test_a_statement_gets_the_options_of_the_scoped_classes_it_touches_only(app):
    """Building and hashing the options of all eight scoped classes for every statement cost more than the home
    page's news statement itself: a statement about the news carries the news' option alone."""
    from sqlalchemy import and_

    from portal.audiences import touched_classes
    from services.desk.library_models import LibraryDocument, LibraryFolder
    from services.desk.models import NewsItem, NewsRead, SearchEntry

    with app.app_context():
        news = (select(NewsItem, NewsRead.news_id)
                .outerjoin(NewsRead, and_(NewsRead.news_id == NewsItem.id, NewsRead.user_id == 1)).limit(6))
        assert touched_classes(news, [NewsItem.__mapper__]) == {NewsItem}
        documents = select(LibraryDocument).join(LibraryDocument.folder)
        assert touched_classes(documents, [LibraryDocument.__mapper__]) == {LibraryDocument, LibraryFolder}
        entries = select(NewsItem).where(NewsItem.id.in_(select(SearchEntry.ref_id)))
        assert touched_classes(entries, [NewsItem.__mapper__]) == {NewsItem, SearchEntry}
