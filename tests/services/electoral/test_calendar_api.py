"""The legal calendar checked against the deadlines published for real elections, and the JSON API."""
from __future__ import annotations

import datetime as dt

from services.electoral.calendar import legal_calendar


def by_article(items):
    return {d.article: d for d in items}


def test_municipal_elections_of_15_march_2026_match_the_published_deadlines():
    """Published by the ministry of the Interior / service-public.fr for the municipal elections of 15 and 22 March
    2026: registration until Friday 6 February 2026; commission de contrôle between 19 and 22 February;
    candidacies until Thursday 26 February 2026 at 18:00; exceptional registrations until 5 March 2026."""
    cal = by_article(legal_calendar("municipal", dt.date(2026, 3, 15), dt.date(2026, 3, 22)))
    assert cal["L. 17 I"].day == dt.date(2026, 2, 6)
    assert cal["L. 17 I"].day.weekday() == 4  # a Friday
    assert (cal["L. 19, R. 7"].day, cal["L. 19, R. 7"].until) == (dt.date(2026, 2, 19), dt.date(2026, 2, 22))
    assert (cal["L. 267"].day, cal["L. 267"].time) == (dt.date(2026, 2, 26), "18:00")
    assert cal["L. 30"].day == dt.date(2026, 3, 5)
    assert cal["R. 25"].day == dt.date(2026, 3, 12)
    assert cal["L. 56"].day == dt.date(2026, 3, 22)


def test_other_real_elections():
    # European elections of 9 June 2024: registration until Friday 3 May 2024
    assert by_article(legal_calendar("european", dt.date(2024, 6, 9)))["L. 17 I"].day == dt.date(2024, 5, 3)
    # presidential election of 10 April 2022: registration until Friday 4 March 2022
    assert by_article(legal_calendar("presidential", dt.date(2022, 4, 10)))["L. 17 I"].day == dt.date(2022, 3, 4)
    assert "L. 267" not in by_article(legal_calendar("european", dt.date(2024, 6, 9)))


def test_api_search_voter_bureaux_calendar(elec, login_as, world):
    c = login_as("secretary_a")
    data = c.get("/api/v1/electoral/voters?q=martin").get_json()
    assert data["total"] == 1 and data["items"][0]["birth_name"] == "MARTIN"
    v = c.get(f"/api/v1/electoral/voters/{elec.voter_a}").get_json()
    assert v["history"][0]["kind"] == "registration" and v["bureau"] == "1"
    assert c.get(f"/api/v1/electoral/voters/{elec.voter_b}").status_code == 404
    assert [b["number"] for b in c.get("/api/v1/electoral/bureaux").get_json()["items"]] == ["1", "2"]
    cal = c.get(f"/api/v1/electoral/elections/{elec.election_a}/calendar").get_json()
    assert {"date": "2026-02-06", "until": None, "time": None, "article": "L. 17 I"}.items() <= \
        next(d for d in cal["deadlines"] if d["article"] == "L. 17 I").items()
    doc = c.get("/api/v1/openapi.json")
    assert doc.status_code == 200 and "/electoral/voters" in doc.get_json()["paths"]


def test_api_with_a_token_and_anonymous(elec, app, world, client):
    from portal.extensions import db
    from portal.models import User
    from portal.security import create_api_token

    assert client.get("/api/v1/electoral/voters").status_code == 401
    with app.app_context():
        tok, secret = create_api_token(db.session.get(User, world.users["mayor_a"].id), "tests")
        db.session.commit()
    resp = client.get("/api/v1/electoral/voters", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200 and resp.get_json()["total"] == 2


def test_home_panel_lists_the_upcoming_deadlines_of_the_commune_only(app, elec, world):
    import datetime as dt

    from flask import g

    from portal import tenancy
    from portal.extensions import db
    from portal.models import Collectivity
    from services.electoral.home import home_panel
    from services.electoral.models import Election

    with app.app_context():
        for eid in (elec.election_a, elec.election_b):
            e = db.session.get(Election, eid)
            e.first_round, e.second_round = dt.date.today() + dt.timedelta(days=60), None
        db.session.commit()
    with app.test_request_context():
        tenancy.activate(frozenset({world.insee_a}))
        a = db.session.get(Collectivity, world.a)
        html = home_panel(a, {"electoral.read"})
        assert "Municipales 2026 (fictif)" in html and "L. 17 I" in html and "Secretelection" not in html
        assert home_panel(a, set()) is None
        assert home_panel(db.session.get(Collectivity, world.epci), {"electoral.read"}) is None


def test_api_register_checks_duplicates_and_input(elec, app, world, client):
    from portal.extensions import db
    from portal.models import User
    from portal.security import create_api_token

    with app.app_context():
        _, secret = create_api_token(db.session.get(User, world.users["secretary_a"].id), "tests")
        _, elected = create_api_token(db.session.get(User, world.users["elected_a"].id), "tests")
        db.session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    body = {"birth_name": "Fictif", "first_names": "Paul", "sex": "M", "birth_date": "1988-03-02",
            "birth_place": "Troyes", "birth_department": "10", "street_type": "rue", "street_name": "des Vignes"}
    resp = client.http.post("/api/v1/electoral/voters", json=body, headers=auth)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["bureau"] == "2" and resp.get_json()["history"][0]["kind"] == "registration"
    again = client.http.post("/api/v1/electoral/voters", json=body, headers=auth)
    assert again.status_code == 409 and again.get_json()["duplicates"] == [resp.get_json()["id"]]
    elsewhere = client.http.post("/api/v1/electoral/voters", headers=auth, json=dict(
        body, birth_name="Secretnomb", first_names="Zoé", birth_date="08/07/1990"))
    assert elsewhere.status_code == 409 and elsewhere.get_json()["registered_elsewhere_in_department"] is True
    for leak in ("SECRETNOMB", "Secretrueb", "987654321", "10176", "Jaucourt"):
        assert leak not in elsewhere.get_data(as_text=True)
    bad = client.http.post("/api/v1/electoral/voters", json=dict(body, birth_date="31/02/1980", sex="X", bureau="9"),
                           headers=auth)
    assert bad.status_code == 400 and set(bad.get_json()["fields"]) == {"birth_date", "sex", "bureau"}
    young = client.http.post("/api/v1/electoral/voters", headers=auth, json=dict(
        body, first_names="Jeune", birth_date=(dt.date.today() - dt.timedelta(days=3650)).isoformat()))
    assert young.status_code == 422 and "18" in young.get_json()["message"]
    denied = client.http.post("/api/v1/electoral/voters", json=body, headers={"Authorization": f"Bearer {elected}"})
    assert denied.status_code == 403
