"""The choke point itself: reads narrowed, writes outside the territory refused, system context explicit."""
import pytest
from sqlalchemy import func, select

from tests.portal.sample_service import SampleNote


def test_list_shows_only_own_territory(world, login_as, add_notes):
    add_notes(**{world.insee_a: "Lavoir d'Ailleville", world.insee_b: "Four de Jaucourt"})
    body = login_as("mayor_a").get("/s/sample/").get_data(as_text=True)
    assert "Lavoir" in body
    assert "Four de Jaucourt" not in body


def test_secretary_switching_changes_the_territory(world, login_as, add_notes):
    add_notes(**{world.insee_a: "Lavoir d'Ailleville", world.insee_b: "Four de Jaucourt"})
    c = login_as("secretary_ab", world.a)
    assert "Lavoir" in c.get("/s/sample/").get_data(as_text=True)
    c.switch(world.b)
    body = c.get("/s/sample/").get_data(as_text=True)
    assert "Four de Jaucourt" in body and "Lavoir" not in body


def test_write_outside_territory_is_refused_and_nothing_written(app, world, login_as):
    c = login_as("mayor_a")
    ok = c.post("/s/sample/notes", {"title": "ok", "commune_insee": world.insee_a})
    assert ok.status_code == 201
    bad = c.post("/s/sample/notes", {"title": "intrus", "commune_insee": world.insee_b})
    assert bad.status_code == 403
    from portal.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SampleNote).where(SampleNote.title == "intrus")) == 0


def test_get_by_primary_key_is_filtered_too(world, login_as, add_notes):
    ids = add_notes(**{world.insee_b: "Four de Jaucourt"})
    assert login_as("mayor_a").get(f"/s/sample/notes/{ids[world.insee_b]}").status_code == 404


def test_system_context_is_unscoped_and_scope_can_be_entered(app, world, add_notes):
    from portal.extensions import db
    from portal.tenancy import current_territory, territory_scope

    add_notes(**{world.insee_a: "A", world.insee_b: "B"})
    with app.app_context():
        assert current_territory() is None
        assert db.session.scalar(select(func.count()).select_from(SampleNote)) == 2
        with territory_scope({world.insee_a}):
            assert [n.title for n in db.session.scalars(select(SampleNote))] == ["A"]
            from portal.tenancy import TerritoryViolation

            db.session.add(SampleNote(title="x", commune_insee=world.insee_b))
            with pytest.raises(TerritoryViolation):
                db.session.flush()
            db.session.rollback()


def test_user_without_collectivity_sees_nothing(app, world, add_notes):
    from flask import g

    from portal.extensions import db
    from portal.tenancy import activate

    add_notes(**{world.insee_a: "A"})
    with app.test_request_context("/"):
        activate(frozenset())
        assert db.session.scalars(select(SampleNote)).all() == []
        assert g.territory == frozenset()


def test_epci_territory_is_its_member_communes(app, world):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        epci = db.session.get(Collectivity, world.epci)
        territory = epci.territory()
        assert world.insee_a in territory and world.insee_b in territory and world.insee_troyes not in territory
        assert len(territory) == 27  # CC de la Région de Bar-sur-Aube, DGCL 2026
        assert db.session.get(Collectivity, world.dept).territory() == frozenset()


def test_the_same_statements_under_several_territories_in_one_process(app, world, add_notes, monkeypatch):
    """The criteria are cached per territory and their SQL by SQLAlchemy's statement cache: each territory (one code,
    several, in any order of first use) must still get its own rows, never the codes of the one compiled first."""
    from sqlalchemy.orm import aliased

    from sqlalchemy import bindparam

    from portal import tenancy
    from portal.extensions import db
    from portal.tenancy import kept, territory_scope

    add_notes(**{world.insee_a: "A", world.insee_b: "B", world.insee_troyes: "T"})
    other = aliased(SampleNote)
    built_once = kept(select(SampleNote.title).where(SampleNote.title != bindparam("other_than")))
    statements = {
        "entities": lambda: sorted(n.title for n in db.session.scalars(select(SampleNote))),
        "columns": lambda: sorted(db.session.scalars(select(SampleNote.title))),
        "count": lambda: db.session.scalar(select(func.count()).select_from(SampleNote)),
        "alias join": lambda: sorted(db.session.execute(
            select(SampleNote.title, other.title).join(other, other.commune_insee == SampleNote.commune_insee)).all()),
        # a statement built once: its narrowed copy is kept per territory (tenancy.kept), a few of them at a time
        "kept": lambda: sorted(db.session.scalars(built_once, {"other_than": "-"})),
    }
    a, b, t = world.insee_a, world.insee_b, world.insee_troyes
    expected = {
        frozenset({a}): ["A"], frozenset({b}): ["B"], frozenset({a, b}): ["A", "B"], frozenset({b, t}): ["B", "T"],
        frozenset({a, b, t}): ["A", "B", "T"], frozenset(): [],
    }
    order = [{a}, {b}, {a, b}, {a}, {b, t}, {a, b, t}, set(), {b}, {a, b}]
    monkeypatch.setattr(tenancy, "MAX_COPIES", 3)
    with app.app_context():
        for _ in range(2):
            for codes in order:
                titles = expected[frozenset(codes)]
                with territory_scope(codes):
                    assert statements["entities"]() == titles, codes
                    assert statements["columns"]() == titles, codes
                    assert statements["count"]() == len(titles), codes
                    assert statements["alias join"]() == [(x, x) for x in titles], codes
                    assert statements["kept"]() == titles, codes
