"""The compact plan's response is kept while nothing it shows changes (queries.compact_plan): every write to a row it
draws or colours gives the commune's plan a new token in the same transaction, so the next plan.json shows it; the
body kept for one commune never reaches another."""
from __future__ import annotations

from sqlalchemy import select


def _state(plan: dict, plot_id: int) -> str:
    [row] = [p for p in plan["plots"] if p[0] == plot_id]
    return plan["states"][row[1]]


def _token(app, insee: str) -> str:
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import PlanVersion

    with app.app_context(), territory_scope(None):
        token = db.session.scalar(select(PlanVersion.token).where(PlanVersion.commune_insee == insee))
        db.session.remove()
        return token


def test_a_new_concession_and_a_burial_show_in_the_next_plan(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    first = sec.get("/s/cemetery/plan.json")
    assert _state(first.get_json(), w.free_plot) == "free" and _state(first.get_json(), w.common) == "free"
    again = sec.get("/s/cemetery/plan.json")
    assert again.headers["ETag"] == first.headers["ETag"] and again.data == first.data  # kept, nothing changed
    assert sec.get("/s/cemetery/plan.json", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    token = _token(app, w.insee)

    granted = sec.post(f"/s/cemetery/emplacements/{w.free_plot}/concessions",
                       {"kind": "thirty", "starts_on": "2026-01-05", "price": "300", "holder_last_name": "Nouveau"},
                       csrf_from=f"/s/cemetery/emplacements/{w.free_plot}")
    assert granted.status_code == 302
    assert _token(app, w.insee) != token
    after = sec.get("/s/cemetery/plan.json", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert _state(after.get_json(), w.free_plot) == "occupied"

    buried = sec.post(f"/s/cemetery/emplacements/{w.common}/operations",
                      {"kind": "inhumation", "on": "2026-01-05", "last_name": "Commun"},
                      csrf_from=f"/s/cemetery/emplacements/{w.common}")
    assert buried.status_code == 302
    plan = sec.get("/s/cemetery/plan.json").get_json()
    assert _state(plan, w.common) == "occupied"
    # what is kept is what would be built now: the same states as the GeoJSON, computed on each call
    geo = sec.get("/s/cemetery/plan.geojson").get_json()
    states = {f["properties"]["id"]: f["properties"]["s"]
              for f in geo["features"] if f["properties"]["layer"] == "plot"}
    assert {p[0]: plan["states"][p[1]] for p in plan["plots"]} == states


def test_a_refused_write_keeps_the_token(app, cemetery_world, login_as):
    w = cemetery_world["a"]
    sec = login_as("secretary_a")
    sec.get("/s/cemetery/plan.json")
    token = _token(app, w.insee)
    refused = sec.post(f"/s/cemetery/emplacements/{w.free_plot}/concessions",
                       {"kind": "thirty", "starts_on": "pas une date", "holder_last_name": "X"},
                       csrf_from=f"/s/cemetery/emplacements/{w.free_plot}")
    assert refused.status_code == 302
    assert _token(app, w.insee) == token


def test_another_commune_never_gets_the_body_kept(app, cemetery_world, login_as):
    a, b = cemetery_world["a"], cemetery_world["b"]
    mine = login_as("secretary_a").get("/s/cemetery/plan.json")
    assert a.plot in {p[0] for p in mine.get_json()["plots"]}
    other = login_as("mayor_b")
    for url in ("/s/cemetery/plan.json", f"/s/cemetery/plan.json?cemetery_id={a.cemetery}"):
        theirs = other.get(url, headers={"If-None-Match": mine.headers["ETag"]})
        assert theirs.status_code == 200 and theirs.headers["ETag"] != mine.headers["ETag"]
        ids = {p[0] for p in theirs.get_json()["plots"]}
        assert not ids & {a.plot, a.free_plot, a.common, a.ossuary}
    assert b.plot in {p[0] for p in other.get("/s/cemetery/plan.json").get_json()["plots"]}
    assert not {o[1] for o in other.get(f"/s/cemetery/plan.json?cemetery_id={a.cemetery}").get_json()["outlines"]}
