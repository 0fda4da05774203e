"""The cemetery's pages through the gate: the plan and its GeoJSON, the sheets, the PDFs and CSVs, the deadlines on
the home page, the public search (off by default, never the holders). The cross-territory sweep is in
test_cross_territory.py."""
from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select



def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_secretary_sees_the_plan_the_sheets_and_prints(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    page = sec.get("/s/cemetery/").get_data(as_text=True)
    assert "Cimetière communal" in page and "leaflet.draw.js" in page and 'id="plan-map"' in page
    plan = sec.get("/s/cemetery/plan.geojson").get_json()
    plots = [f for f in plan["features"] if f["properties"]["layer"] == "plot"]
    assert len(plots) == 4 and {f["properties"]["s"] for f in plots} == {"occupied", "free"}
    assert "Jaucourt-Secret" not in str(plan)
    sheet = sec.get(f"/s/cemetery/emplacements/{w.plot}").get_data(as_text=True)
    assert "AILLEVILLE Louis" in sheet and "1 / 2" in sheet
    for tab, name in (("deceased", "AILLEVILLE Louis"), ("holders", "AILLEVILLE Jeanne"),
                      ("beneficiaries", "fils")):
        assert name in sec.get(f"/s/cemetery/concessions/{w.concession}?onglet={tab}").get_data(as_text=True)
    title = sec.get(f"/s/cemetery/concessions/{w.concession}/titre.pdf")
    assert title.mimetype == "application/pdf" and "AILLEVILLE Jeanne" in _pdf_text(title.data)
    for kind in ("concessions", "operations", "ossuary"):
        csv = sec.get(f"/s/cemetery/registres/{kind}.csv").get_data(as_text=True)
        assert "Jaucourt-Secret" not in csv.upper() and "JAUCOURT-SECRET" not in csv
    assert "AILLEVILLE Jeanne" in sec.get("/s/cemetery/registres/concessions.csv").get_data(as_text=True)
    found = sec.get("/s/cemetery/recherche?q=aillev").get_data(as_text=True)
    assert "AILLEVILLE Louis" in found and "AILLEVILLE Jeanne" in found
    api = sec.get("/api/v1/cemetery/search?q=louis").get_json()
    assert api and api[0]["label"] == "Ancien · A · 1" and api[0]["as"] == "deceased"


def test_a_full_emplacement_refuses_a_burial_with_a_french_message(app, cemetery_world, login_as):
    from portal.extensions import db
    from services.cemetery.models import Deceased

    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    url = f"/s/cemetery/emplacements/{w.plot}/operations"
    ok = sec.post(url, {"kind": "inhumation", "on": "2026-01-05", "last_name": "Deuxième"},
                  csrf_from=f"/s/cemetery/emplacements/{w.plot}")
    assert ok.status_code == 302
    sec.post(url, {"kind": "inhumation", "on": "2026-01-06", "last_name": "Troisième"},
             csrf_from=f"/s/cemetery/emplacements/{w.plot}")
    page = sec.get(f"/s/cemetery/emplacements/{w.plot}").get_data(as_text=True)
    assert "Plus de place" in page or "No room left" in page
    with app.app_context():
        from portal.tenancy import territory_scope

        with territory_scope(None):
            assert db.session.scalar(select(func.count()).select_from(Deceased).where(
                Deceased.last_name == "Troisième")) == 0
    sec.post(url, {"kind": "exhumation", "on": "2026-01-06", "deceased_id": str(w.deceased), "destination": "Troyes"},
             csrf_from=f"/s/cemetery/emplacements/{w.plot}")
    assert "R2213-40" in sec.get(f"/s/cemetery/emplacements/{w.plot}").get_data(as_text=True)
    assert login_as("elected_a").post(url, {"kind": "inhumation", "on": "2026-01-05", "last_name": "X"}).status_code \
        == 403
    assert login_as("epci_user").get("/s/cemetery/").status_code == 403  # communes only


def test_deadlines_reach_the_home_page_and_the_letters(app, cemetery_world, login_as):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import operations
    from services.cemetery.models import Plot
    from services.cemetery.rules import add_years

    w = cemetery_world["a"]
    soon = add_years(dt.date.today() + dt.timedelta(days=40), -15)
    with app.test_request_context(), territory_scope({w.insee}):
        c = operations.create_concession(db.session.get(Plot, w.free_plot), kind="temporary", duration_years=15,
                                         starts_on=soon, people=[{"last_name": "Bientot", "address": "2 rue Haute",
                                                                  "postcode": "10200", "city": "Ailleville"}])
        db.session.commit()
        number = c.number
    sec = login_as("secretary_a")
    home = sec.get("/").get_data(as_text=True)
    assert number in home and ("3 mois" in home or "3 months" in home)
    letters = sec.get("/s/cemetery/echeances/courriers.pdf?mois=3")
    assert "BIENTOT" in _pdf_text(letters.data)
    assert sec.get("/api/v1/cemetery/deadlines").get_json()["concessions"][0]["number"] == number


def test_the_public_search_is_off_until_the_mairie_switches_it_on(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    anonymous = app.test_client()
    assert anonymous.get(f"/p/cemetery/{w.insee}/?q=aillev").status_code == 404
    mayor = login_as("mayor_a")
    mayor.post("/s/cemetery/reglages", {"public_search": "1", "public_dates": "1"}, csrf_from="/s/cemetery/reglages")
    page = anonymous.get(f"/p/cemetery/{w.insee}/?q=aillev").get_data(as_text=True)
    assert "AILLEVILLE Louis" in page and "Ancien" in page and "(?–2010)" in page
    one = anonymous.get(f"/p/cemetery/{w.insee}/?q=aillev&id={w.deceased}").get_data(as_text=True)
    assert 'id="grave-map"' in one
    for secret in ("Jeanne", "jeanne@example.org", "0325000000", "rue de l"):
        assert secret not in page and secret not in one
    assert anonymous.get("/p/cemetery/10387/?q=aillev").status_code == 404  # Troyes: not subscribed


def test_search_ignores_accents_and_case(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    sec.post(f"/s/cemetery/emplacements/{w.common}/operations",
             {"kind": "inhumation", "on": "2026-01-05", "last_name": "Lefèvre", "first_names": "Élise",
              "birth_name": "Bézier"}, csrf_from=f"/s/cemetery/emplacements/{w.common}")
    for q in ("lefevre", "LEFÈVRE", "élise", "bezier"):
        assert "LEFÈVRE Élise" in sec.get(f"/s/cemetery/recherche?q={q}").get_data(as_text=True), q
    assert "LEFÈVRE" not in sec.get("/s/cemetery/recherche?q=lefevra").get_data(as_text=True)


def test_the_demo_cemetery_loads_once_with_every_state(app, request):
    if app.extensions["service_registry"].get("cemetery") is None:
        import pytest

        pytest.skip("the cemetery service is not installed (pip install -e . or EXTRA_SERVICES=services.cemetery)")
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery import queries

    world = request.getfixturevalue("world")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["cemetery", "demo"])
    assert first.exit_code == 0 and "50 emplacements" in first.output, first.output
    assert "already there" in runner.invoke(args=["cemetery", "demo"]).output
    with app.test_request_context(), territory_scope({world.insee_a}):
        states = {f["properties"]["s"] for f in queries.plan()["features"] if f["properties"]["layer"] == "plot"}
        assert states == {"free", "occupied", "expiring", "expired", "reprise"}
        lists = {d.months for d in queries.deadlines()}
        assert lists == {3, 6, 0, -1}
        db.session.rollback()
