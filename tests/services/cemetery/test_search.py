"""The search by name through the trigram index of each backend (migration cemetery_0004_name_search): accents and
capitals ignored, deceased and holders, the index kept in step with the names, never another commune's names, a
page of 25 with the number of matches (run on SQLite FTS5 and on PostgreSQL pg_trgm by the two suites)."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text

from tests.conftest import owner_engine, using_postgres


def _bury(app, insee, plot_id, names):
    """Deceased of ``names`` ((last, first, birth name)) in the emplacement ``plot_id`` of commune ``insee``."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Deceased

    with app.test_request_context(), territory_scope({insee}):
        ids = []
        for last, first, birth in names:
            d = Deceased(plot_id=plot_id, last_name=last, first_names=first, birth_name=birth,
                         death_date=dt.date(2001, 2, 3), commune_insee=insee)
            db.session.add(d)
            db.session.flush()
            ids.append(d.id)
        db.session.commit()
        return ids


def _names(page: str) -> list[str]:
    return re.findall(r"<tr><td>([^<(]+?)(?: <span|</td>)", page)


def test_accents_capitals_deceased_and_holders(app, cemetery_world, login_as):
    a = cemetery_world["a"]
    _bury(app, a.insee, a.common, [("Lefèvre", "Élise", "Bézier"), ("Lefevre", "Marc", "")])
    sec = login_as("secretary_a")
    for q in ("lefevre", "LEFÈVRE", "Lefèvre", "éLIse", "bezier", "BÉZIER"):
        page = sec.get(f"/s/cemetery/recherche?q={q}").get_data(as_text=True)
        assert "LEFÈVRE Élise née BÉZIER" in page, q
    both = sec.get("/s/cemetery/recherche?q=lefevre").get_data(as_text=True).replace("\u00a0", " ")
    assert "LEFÈVRE Élise" in both and "LEFEVRE Marc" in both
    assert "2 résultats" in both or "2 results" in both
    assert "LEFÈVRE" not in sec.get("/s/cemetery/recherche?q=lefevra").get_data(as_text=True)
    # a holder and an ayant droit of a concession in force, by a part of the name, and the deceased beside them
    found = sec.get("/s/cemetery/recherche?q=LLEVI").get_data(as_text=True)
    assert {"AILLEVILLE Jeanne", "AILLEVILLE Paul", "AILLEVILLE Louis"} <= set(_names(found))
    api = sec.get("/api/v1/cemetery/search?q=aillevill").get_json()
    assert {(h["name"], h["as"]) for h in api} == {("AILLEVILLE Louis", "deceased"), ("AILLEVILLE Jeanne", "holder"),
                                                   ("AILLEVILLE Paul", "beneficiary")}
    assert sec.get("/s/cemetery/recherche?q=a").status_code == 200  # one letter: no search, no error


def test_the_index_follows_the_names(app, cemetery_world, login_as):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Deceased, Person

    a = cemetery_world["a"]
    (did,) = _bury(app, a.insee, a.common, [("Durand", "Odette", "")])
    with app.test_request_context(), territory_scope({a.insee}):
        db.session.get(Deceased, did).last_name = "Dürrenmatt"
        db.session.get(Person, a.holder).last_name = "Quentel"
        db.session.commit()
    sec = login_as("secretary_a")
    assert "DURAND" not in sec.get("/s/cemetery/recherche?q=durand").get_data(as_text=True)
    assert "DÜRRENMATT Odette" in sec.get("/s/cemetery/recherche?q=durrenm").get_data(as_text=True)
    assert "QUENTEL Jeanne" in sec.get("/s/cemetery/recherche?q=quentel").get_data(as_text=True)
    with app.test_request_context(), territory_scope({a.insee}):
        db.session.delete(db.session.get(Deceased, did))
        db.session.commit()
    assert "DÜRRENMATT" not in sec.get("/s/cemetery/recherche?q=durrenm").get_data(as_text=True)


def test_another_communes_names_are_never_found(app, cemetery_world, login_as):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import queries

    a, b = cemetery_world["a"], cemetery_world["b"]
    _bury(app, a.insee, a.common, [("Lefèvre", "Alice", "")])
    _bury(app, b.insee, b.common, [("Lefèvre", "Secrète", ""), ("Lefebvre", "Cachée", "")])
    for role in ("secretary_a", "mayor_a", "elected_a"):
        page = login_as(role).get("/s/cemetery/recherche?q=lefe").get_data(as_text=True)
        assert "LEFÈVRE Alice" in page and "Secrète" not in page and "Cachée" not in page, role
    for q in ("jaucourt", "secret", "JAUCOURT-SECRET"):  # B's holder, ayant droit and deceased
        sec = login_as("secretary_a")
        assert _names(sec.get(f"/s/cemetery/recherche?q={q}").get_data(as_text=True)) == []
        assert sec.get(f"/api/v1/cemetery/search?q={q}").get_json() == []
    with app.test_request_context(), territory_scope({a.insee}):
        found = queries.search("lefe")
        assert found.total == 1 and [h.who for h in found.hits] == ["LEFÈVRE Alice"]
        if using_postgres():
            # the function behind the index applies the territory of the transaction itself
            assert db.session.scalar(text("SELECT count(*) FROM cemetery_named('deceased', '%lefe%')")) == 1
            # and the application's role reads the index table under its policy
            assert db.session.scalars(text("SELECT DISTINCT commune_insee FROM cemetery_name_index")).all() == \
                [a.insee]
    with app.test_request_context(), territory_scope({b.insee}):
        assert queries.search("lefe").total == 2


def test_a_page_of_25_the_number_of_matches_and_the_pager(app, cemetery_world, login_as):
    a = cemetery_world["a"]
    _bury(app, a.insee, a.common, [(f"Paginé-{n:02d}", "Jean", "") for n in range(31)])
    sec = login_as("secretary_a")
    first = sec.get("/s/cemetery/recherche?q=pagine").get_data(as_text=True)
    second = sec.get("/s/cemetery/recherche?q=pagine&page=2").get_data(as_text=True)
    one, two = _names(first), _names(second)
    assert len(one) == 25 and len(two) == 6
    assert one + two == [f"PAGINÉ-{n:02d} Jean" for n in range(31)]  # in the order of the names, none twice
    flat = first.replace("\u00a0", " ")
    assert "31 résultats" in flat or "31 results" in flat
    assert "affinez la recherche" in flat or "refine the search" in flat
    assert "page=2" in first and "page=1" in second
    assert _names(sec.get("/s/cemetery/recherche?q=pagine&page=99").get_data(as_text=True)) == two  # the last page
    assert _names(sec.get("/s/cemetery/recherche?q=pagine&page=x").get_data(as_text=True)) == one
    assert len(sec.get("/api/v1/cemetery/search?q=pagine&page=2").get_json()) == 6
    few = sec.get("/s/cemetery/recherche?q=aillev").get_data(as_text=True)
    assert "page=2" not in few and "affinez" not in few and "refine" not in few


def test_the_search_goes_through_the_trigram_index(app, cemetery_world):
    """The search's statements ask the index (FTS5 MATCH / cemetery_named), and on PostgreSQL the index table's query
    can use its GIN index, which a LIKE under the source tables' forced row-level security could not."""
    from sqlalchemy import event

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import queries

    a = cemetery_world["a"]
    seen = []
    with app.test_request_context(), territory_scope({a.insee}):
        engine = db.session.get_bind()
        listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert queries.search("aillevil").total == 3
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    asked = "cemetery_first_named(" if using_postgres() else "cemetery_deceased_fts MATCH"
    assert any(asked in s for s in seen) and not any("search_name LIKE" in s for s in seen), seen
    if using_postgres():
        with owner_engine(app).connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a table this small would be read whole
            conn.exec_driver_sql("SET enable_indexscan = off")
            plan = "\n".join(conn.execute(text(
                "EXPLAIN SELECT ref_id FROM cemetery_name_index WHERE search_name LIKE :pattern"),
                {"pattern": "%lefev%"}).scalars())
            assert "ix_cemetery_name_index_trgm" in plan, plan


def test_a_match_inside_a_name_is_found_in_name_order(app, cemetery_world, login_as):
    """The letters may be anywhere in the names (a first name after the last name, the middle of a name), on both
    backends: many matches are taken in name order up to the count's cap, a rare one from the middle too."""
    from portal.tenancy import territory_scope
    from services.cemetery import queries

    a = cemetery_world["a"]
    # 1 010 names holding « marc »: at the start of the name, in a first name after it, inside a last name
    names = [(f"Martin-{n:04d}", "Marc", "") for n in range(0, 1010, 2)] + \
        [(f"Demarcq-{n:04d}", "Luc", "") for n in range(1, 1010, 2)]
    _bury(app, a.insee, a.common, names + [("Zoé", "Annemarcelle", "")])
    with app.test_request_context(), territory_scope({a.insee}):
        found = queries.search("marc", holders=False)
        assert found.total == 1000 and found.more and found.pages == queries.MAX_PAGES
        assert [h.who for h in found.hits] == [f"DEMARCQ-{n:04d} Luc" for n in range(1, 50, 2)]  # « d » < « m »
        last = queries.search("marc", page=queries.MAX_PAGES, holders=False)
        assert [h.who for h in last.hits][-1] == "MARTIN-0988 Marc"  # the 1 000th name of the order
        only_inside = queries.search("nnemarc")
        assert only_inside.total == 1 and [h.who for h in only_inside.hits] == ["ZOÉ Annemarcelle"]
        assert queries.search("rcq-0007").total == 1 and queries.search("ARC LUC").total == 0


def test_only_the_resting_and_the_people_of_a_concession_in_force_are_found(app, cemetery_world, login_as):
    """A deceased taken out of the emplacement, the people of a concession no longer in force are not found; found
    again when it changes back (on PostgreSQL the index table's listing follows these columns by triggers)."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import queries
    from services.cemetery.models import Concession, Deceased

    a = cemetery_world["a"]
    (did,) = _bury(app, a.insee, a.common, [("Vasseur", "Rémi", "")])

    def found(q):
        with app.test_request_context(), territory_scope({a.insee}):
            return [h.who for h in queries.search(q).hits]

    assert found("vasseur") == ["VASSEUR Rémi"]
    assert {"AILLEVILLE Jeanne", "AILLEVILLE Paul"} <= set(found("aillev"))
    with app.test_request_context(), territory_scope({a.insee}):
        db.session.get(Deceased, did).plot_id = None
        db.session.get(Concession, a.concession).status = "retroceded"
        db.session.commit()
    assert found("vasseur") == [] and not {"AILLEVILLE Jeanne", "AILLEVILLE Paul"} & set(found("aillev"))
    with app.test_request_context(), territory_scope({a.insee}):
        db.session.get(Deceased, did).plot_id = a.common
        db.session.get(Concession, a.concession).status = "active"
        db.session.commit()
    assert found("vasseur") == ["VASSEUR Rémi"]
    assert {"AILLEVILLE Jeanne", "AILLEVILLE Paul"} <= set(found("aillev"))
    # a conversion closes the concession and carries its people over: each is found once, from the new period
    from services.cemetery import operations

    with app.test_request_context(), territory_scope({a.insee}):
        operations.convert_concession(db.session.get(Concession, a.concession), dt.date(2020, 1, 1),
                                      kind="perpetual", price=0)
        db.session.commit()
    assert found("aillev").count("AILLEVILLE Jeanne") == 1 and found("aillev").count("AILLEVILLE Paul") == 1
