"""Row-level security for audiences, the second lock (PostgreSQL only): raw SQL on the app role's connections,
which the ORM filter of portal/audiences.py never sees, reads exactly what the audience matrix allows — and writes
nothing outside it. The policies are those of migration desk_0012_audience_rls."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import using_postgres
from tests.services.desk.test_audiences import EXPECTED, KINDS, matrix, title  # noqa: F401 - fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)"),
]

VIEWERS = {"member_commune": "a", "listed_commune": "b", "epci": "epci", "other_commune": "troyes",
           "commune_without_convention": "c", "department": "dept"}


def _viewer(app, world, partners, name):
    """The Viewer of ``name`` as portal.audiences computes it (None for the department: everything)."""
    from portal.audiences import Viewer, audience_scope
    from portal.extensions import db
    from portal.models import Collectivity

    cid = partners.cdg if name == "partner" else getattr(world, VIEWERS[name])
    with app.app_context(), audience_scope(None):
        return Viewer.of(db.session.get(Collectivity, cid))


def _raw(app, viewer=..., sql="SELECT title FROM desk_news", params=None):
    """Rows of ``sql`` on a connection of the app's engine (the application role), the settings of ``viewer`` given
    to its transaction by portal.audiences.set_viewer (``...``: nothing set)."""
    from portal.audiences import set_viewer
    from portal.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        try:
            if viewer is not ...:
                set_viewer(conn, viewer)
            return list(conn.execute(text(sql), params or {}))
        finally:
            conn.rollback()


def _kinds(titles) -> set[str]:
    by_title = {title(kind): kind for kind in KINDS}
    return {by_title[t] for t in titles if t in by_title}


def test_the_app_connects_as_a_role_bound_by_row_level_security(app):
    rows = _raw(app, sql="SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert rows == [(False, False)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_raw_sql_reads_exactly_the_audience_matrix(app, world, partners, matrix, name):  # noqa: F811
    viewer = _viewer(app, world, partners, name)
    assert _kinds(t for (t,) in _raw(app, viewer)) == EXPECTED[name]
    # the search index and the audience rows under the same rule
    assert _kinds(t for (t,) in _raw(app, viewer, "SELECT title FROM desk_search")) == EXPECTED[name]
    audience_kinds = {k for (k,) in _raw(app, viewer, "SELECT kind FROM audience WHERE id IN "
                                                      "(SELECT audience_id FROM desk_news)")}
    assert audience_kinds == EXPECTED[name]


def test_a_connection_that_set_nothing_reads_the_public_only(app, world, matrix):  # noqa: F811
    assert _kinds(t for (t,) in _raw(app)) == {"public"}
    assert {k for (k,) in _raw(app, sql="SELECT kind FROM audience")} == {"public"}
    assert _raw(app, sql="SELECT * FROM audience_member") == []


def test_a_publisher_reads_what_it_addressed_to_others_only(app, world, publish):
    news = publish("Liste-de-Ailleville", "list", publisher=world.a, member_ids=(world.b,))
    from portal.audiences import Viewer

    def seen(viewer):
        return [t for (t,) in _raw(app, viewer, "SELECT title FROM desk_news WHERE id = :id", {"id": news})]

    ailleville = Viewer(world.a, "commune", frozenset({world.epci}))
    jaucourt = Viewer(world.b, "commune", frozenset({world.epci}))
    troyes = Viewer(world.troyes, "commune")
    assert seen(ailleville) == ["Liste-de-Ailleville"]  # published it, not in the list
    assert seen(jaucourt) == ["Liste-de-Ailleville"]  # in the list
    assert seen(troyes) == []
    # the audience row and its members: its publisher and the listed commune
    members = "SELECT collectivity_id FROM audience_member WHERE audience_id = (SELECT audience_id FROM desk_news " \
              "WHERE id = :id)"
    assert _raw(app, ailleville, members, {"id": news}) == [(world.b,)]
    assert _raw(app, troyes, members, {"id": news}) == []


def test_writes_outside_the_audience_change_nothing_or_are_refused(app, world, matrix):  # noqa: F811
    from portal.audiences import Viewer, set_viewer
    from portal.extensions import db

    troyes = Viewer(world.troyes, "commune")
    with app.app_context(), db.engine.connect() as conn:
        set_viewer(conn, troyes)
        changed = conn.execute(text("UPDATE desk_news SET title = 'pirate' WHERE id = :id"),
                               {"id": matrix["epci_members"]})
        assert changed.rowcount == 0
        deleted = conn.execute(text("DELETE FROM desk_search WHERE title = :t"), {"t": title("epci_members")})
        assert deleted.rowcount == 0
        conn.commit()
    with app.app_context(), db.engine.connect() as conn:
        set_viewer(conn, troyes)
        hidden = _audience_of(app, matrix["epci_members"])
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(text("INSERT INTO desk_search (kind, ref_id, title, body, published_at, audience_id, "
                              "publisher_id) VALUES ('news', 999999, 'x', 'x', now(), :a, :p)"),
                         {"a": hidden, "p": world.dept})
        conn.rollback()
    assert _kinds(t for (t,) in _raw(app, None)) == set(KINDS)  # nothing was changed


def _audience_of(app, news_id):
    return _raw(app, None, "SELECT audience_id FROM desk_news WHERE id = :id", {"id": news_id})[0][0]


def test_the_app_session_sets_the_viewer_for_raw_sql_too(app, world, partners, matrix):  # noqa: F811
    """In a request, the session gives its transaction the viewer before the first statement about audience-scoped
    rows; raw SQL after it reads what the viewer may read, and :func:`audience_scope` moves the setting along."""
    from flask import g

    from portal.audiences import PUBLIC_VIEWER, audience_scope
    from portal.extensions import db
    from portal.models import Collectivity
    from services.desk.models import NewsItem

    with app.test_request_context():
        g.collectivity = db.session.get(Collectivity, world.troyes)
        orm = {t for t in db.session.scalars(select(NewsItem.title))}
        raw = {t for (t,) in db.session.execute(text("SELECT title FROM desk_news"))}
        assert _kinds(orm) == _kinds(raw) == EXPECTED["other_commune"]
        with audience_scope(PUBLIC_VIEWER):
            db.session.scalars(select(NewsItem.id)).all()
            assert _kinds(t for (t,) in db.session.execute(text("SELECT title FROM desk_news"))) == {"public"}
        db.session.scalars(select(NewsItem.id)).all()
        assert _kinds(t for (t,) in db.session.execute(text("SELECT title FROM desk_news"))) == \
            EXPECTED["other_commune"]
        db.session.rollback()


def test_the_search_window_applies_the_rule_itself(app, world, partners, matrix):  # noqa: F811
    sql = ("SELECT s.title FROM desk_search_window(websearch_to_tsquery('desk_french', 'message'), 200) w "
           "JOIN desk_search s ON s.id = w.id")
    for name in ("other_commune", "partner", "listed_commune"):
        assert _kinds(t for (t,) in _raw(app, _viewer(app, world, partners, name), sql)) == EXPECTED[name]
    # the function reads as the owner: without the setting, the public only all the same
    assert _kinds(t for (t,) in _raw(app, ..., sql)) == {"public"}



def test_the_search_window_is_the_newest_readable_matches(app, world, partners, matrix):  # noqa: F811
    """A window smaller than the matches holds the ``n`` newest the viewer may read (the rule tested in id order until
    ``n`` pass, desk_0016), with their publication date — the same rows as the policy lets the app role read."""
    match = "websearch_to_tsquery('desk_french', 'message')"
    for name in ("other_commune", "listed_commune", "partner"):
        viewer = _viewer(app, world, partners, name)
        readable = _raw(app, viewer, f"SELECT s.id, s.published_at FROM desk_search s WHERE s.tsv @@ {match} "
                                     "ORDER BY s.id DESC")
        assert len(readable) >= 2
        for n in (1, len(readable) - 1, len(readable), len(readable) + 5):
            window = _raw(app, viewer, f"SELECT w.id, w.published_at, w.rank FROM desk_search_window({match}, {n}) w "
                                       "ORDER BY w.id DESC")
            assert [(i, at) for i, at, _ in window] == [tuple(r) for r in readable[:n]], (name, n)
            assert all(rank > 0 for _, _, rank in window)

def test_every_audience_scoped_table_has_its_policy(app):
    from portal.audiences import _scoped_classes

    path = Path(__file__).parents[3] / "services" / "desk" / "migrations" / "desk_0012_audience_rls.py"
    spec = importlib.util.spec_from_file_location("desk_0012_audience_rls", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    tables = {cls.__table__.name for cls in _scoped_classes()}
    assert tables == set(migration.SCOPED)
    policies = {t for (t,) in _raw(app, None, "SELECT tablename FROM pg_policies WHERE policyname LIKE '%_audience'")}
    assert policies == tables | {"audience", "audience_member"}
