"""Row-level security on the rows read beyond their owner: a buyer's consultations (tender, tenders_0008_tender_rls),
which everyone reads once published, and the forum's messages (desk_forum_post, desk_0018_forum_post_rls), which
follow their thread's audience. As the app role, with the viewer settings a request would write: another buyer's
draft and a message of a thread addressed to others are invisible and cannot be updated; published consultations
and messages of a thread the reader is addressed to are read. PostgreSQL only."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, text

from tests.conftest import owner_engine, using_postgres
from tests.portal.test_postgres_rls_owned import _as, _viewer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not using_postgres(), reason="row-level security needs PostgreSQL (DATABASE_URL)"),
]


@pytest.fixture
def tenders(app, world):
    """A draft and a published consultation of Ailleville, and the same of its EPCI (ids by owner and status),
    written by the schema owner in the system context, deleted afterwards."""
    from services.tenders.models import Tender

    table, ids = Tender.__table__, {}
    with owner_engine(app).begin() as conn:
        for cid in (world.a, world.epci):
            for n, status in enumerate(("draft", "published")):
                ids[cid, status] = conn.execute(table.insert().values(
                    collectivity_id=cid, reference=f"RLS-{n}", status=status, title=f"{status} {cid}")
                    .returning(table.c.id)).scalar()
    yield ids
    with owner_engine(app).begin() as conn:
        conn.execute(delete(table).where(table.c.id.in_(list(ids.values()))))


def _tender_ids(conn):
    return set(conn.execute(text("SELECT id FROM tender")).scalars())


def test_a_draft_is_its_buyers_and_a_published_consultation_everyones(app, world, tenders):
    from portal.audiences import Viewer

    mine = {tenders[world.a, "draft"], tenders[world.a, "published"]}
    published = {tenders[world.a, "published"], tenders[world.epci, "published"]}
    drafts = {tenders[world.a, "draft"], tenders[world.epci, "draft"]}
    everything = mine | published | drafts

    # the buyer: its own draft, every published one; not its EPCI's draft (nor the EPCI its commune's)
    assert _as(app, _viewer(app, world.a), _tender_ids) & everything == mine | published
    assert _as(app, _viewer(app, world.epci), _tender_ids) & everything == published | {tenders[world.epci, "draft"]}
    # another commune of the EPCI, and Troyes: published ones only
    assert _as(app, _viewer(app, world.b), _tender_ids) & everything == published
    assert _as(app, _viewer(app, world.troyes), _tender_ids) & everything == published
    # nobody signed in (residents, companies, the public pages and exports), or a connection that set nothing
    assert _as(app, _viewer(app, None), _tender_ids) & everything == published
    with app.app_context():
        from portal.extensions import db

        with db.engine.connect() as conn:
            assert _tender_ids(conn) & everything == published
    # the Aube's team and the system context read every one; a team of another département its published ones only
    assert _as(app, _viewer(app, world.dept), _tender_ids) >= everything
    assert _as(app, None, _tender_ids) >= everything
    elsewhere = Viewer(world.dept, "department", administered=frozenset(), departments=frozenset({"976"}))
    assert _as(app, elsewhere, _tender_ids) & everything == published


def test_only_the_buyer_writes_its_consultations(app, world, tenders):
    update = text("UPDATE tender SET title = 'changé' WHERE id = :i")

    def run(conn):
        return {key: conn.execute(update, {"i": i}).rowcount for key, i in tenders.items()}

    # a published consultation is read by all, written by its buyer only
    assert _as(app, _viewer(app, world.troyes), run) == dict.fromkeys(tenders, 0)
    assert _as(app, _viewer(app, None), run) == dict.fromkeys(tenders, 0)
    assert _as(app, _viewer(app, world.a), run) == {key: int(key[0] == world.a) for key in tenders}
    assert _as(app, None, run) == dict.fromkeys(tenders, 1)  # system context: the closing at the deadline

    def insert_for_troyes(conn):
        conn.execute(text("INSERT INTO tender (collectivity_id, reference, status, step, title, description, nature, "
                          "cpv_code, place, renewals, renewal_months, single_lot_reason, procedure, publicity, media, "
                          "criteria, buyer_siret, contact_email, end_reason, end_details, dce_sha256, created_at, "
                          "updated_at) VALUES (:c, 'RLS-X', 'draft', 1, '', '', '', '', '', 0, 0, '', '', '', '[]', "
                          "'[]', '', '', '', '', '', now(), now())"), {"c": world.troyes})

    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="row-level security"):
        _as(app, _viewer(app, world.a), insert_for_troyes)


@pytest.fixture
def forum(app, world):
    """Two threads of the Aube's category: one addressed to every member (« all », by Troyes), one to a list naming
    Troyes only (by Troyes); a message by Troyes in each, and one by Ailleville in the first. Ids by name."""
    from portal.audiences import Audience, audience_member
    from services.desk.models import ForumCategory, ForumPost, ForumThread

    ids = {}
    with owner_engine(app).begin() as conn:
        def insert(model, **values):
            return conn.execute(model.__table__.insert().values(**values).returning(model.__table__.c.id)).scalar()

        ids["category"] = insert(ForumCategory, name="Sécurité des lignes", department_code="10")
        ids["all_audience"] = insert(Audience, kind="all", publisher_id=world.troyes, department_code="10")
        ids["list_audience"] = insert(Audience, kind="list", publisher_id=world.troyes, department_code="10")
        conn.execute(audience_member.insert().values(audience_id=ids["list_audience"], collectivity_id=world.troyes))
        for name in ("all", "list"):
            ids[f"{name}_thread"] = insert(ForumThread, category_id=ids["category"], title=name,
                                           audience_id=ids[f"{name}_audience"], publisher_id=world.troyes)
            ids[f"{name}_post"] = insert(ForumPost, thread_id=ids[f"{name}_thread"], collectivity_id=world.troyes,
                                         body_html="<p>Bonjour</p>")
        ids["a_post"] = insert(ForumPost, thread_id=ids["all_thread"], collectivity_id=world.a, body_html="<p>Oui</p>")
    yield ids
    with owner_engine(app).begin() as conn:
        for model, keys in ((ForumThread, ("all_thread", "list_thread")), (ForumCategory, ("category",)),
                            (Audience, ("all_audience", "list_audience"))):
            conn.execute(delete(model.__table__).where(model.__table__.c.id.in_([ids[k] for k in keys])))


def _post_ids(conn):
    return set(conn.execute(text("SELECT id FROM desk_forum_post")).scalars())


def test_a_message_is_read_by_its_threads_readers(app, world, forum):
    posts = {forum["all_post"], forum["list_post"], forum["a_post"]}
    in_all = {forum["all_post"], forum["a_post"]}
    # Ailleville reads the thread addressed to every member (Troyes' message and its own), not the list's
    assert _as(app, _viewer(app, world.a), _post_ids) & posts == in_all
    # Troyes, named by the list, reads both threads
    assert _as(app, _viewer(app, world.troyes), _post_ids) & posts == posts
    # nobody signed in: neither thread is addressed to the public
    assert not _as(app, _viewer(app, None), _post_ids) & posts
    # the moderators (the department team, « * ») and the system context read every message
    assert _as(app, _viewer(app, world.dept), _post_ids) >= posts
    assert _as(app, None, _post_ids) >= posts


def test_the_author_reads_its_message_and_writes_nothing_else(app, world, forum):
    # moved into the list's thread, Ailleville's message stays its author's (and no one else's outside the list)
    with owner_engine(app).begin() as conn:
        conn.execute(text("UPDATE desk_forum_post SET thread_id = :t WHERE id = :p"),
                     {"t": forum["list_thread"], "p": forum["a_post"]})
    assert forum["a_post"] in _as(app, _viewer(app, world.a), _post_ids)
    assert forum["a_post"] not in _as(app, _viewer(app, world.b), _post_ids)

    hide = text("UPDATE desk_forum_post SET hidden = true WHERE id = :p")

    def run(conn):
        return {key: conn.execute(hide, {"p": forum[key]}).rowcount for key in ("all_post", "list_post", "a_post")}

    # a reader hides nobody's message; its own only while it still reads the thread (here: no longer)
    assert _as(app, _viewer(app, world.a), run) == {"all_post": 0, "list_post": 0, "a_post": 0}
    assert _as(app, _viewer(app, world.troyes), run) == {"all_post": 1, "list_post": 1, "a_post": 0}
    # the moderators hide any
    assert _as(app, _viewer(app, world.dept), run) == {"all_post": 1, "list_post": 1, "a_post": 1}

    def post_as_ailleville(conn):
        conn.execute(text("INSERT INTO desk_forum_post (thread_id, collectivity_id, body_html, created_at, hidden) "
                          "VALUES (:t, :c, '<p>x</p>', now(), false)"), {"t": forum["list_thread"], "c": world.a})

    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="row-level security"):  # a thread it does not read
        _as(app, _viewer(app, world.a), post_as_ailleville)
    with pytest.raises(DBAPIError, match="row-level security"):  # in another collectivity's name
        _as(app, _viewer(app, world.troyes), post_as_ailleville)
