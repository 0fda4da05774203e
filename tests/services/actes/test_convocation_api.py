"""Séances through the JSON API (created, listed, délibérations attached; permissions), the convocation of a séance
(L2121-11: three clear days under 3 500 inhabitants, L2121-12: five otherwise; a PDF with the order of the day) and
its quorum (L2121-17: the majority of the members in office present; after a séance without quorum, a second
convocation at least three days later deliberates without quorum); the préfecture's classification uploaded by the
department when the TdT cannot give it (checked whole, all or nothing)."""
from __future__ import annotations

import datetime as dt
import html
import io

import pytest
from sqlalchemy import select

from tests.helpers.reference import collectivity_restored

from .conftest import make_act
from tests.helpers.clock import legal_today

TODAY = legal_today()


@pytest.fixture(autouse=True)
def _population_put_back(app):
    """_seance writes Ailleville's population (the quorum and convocation rules depend on it): a collectivity is
    reference data, kept between tests, and the department's page shows its population (tests/portal/test_admin.py)."""
    with collectivity_restored(app, "10002", "population"):
        yield


def _api(client, url, payload):
    return client.http.post(url, json=payload, headers={"X-CSRFToken": client.csrf("/profil")})


def _seance_payload(**over):
    values = {"held_on": TODAY.isoformat(), "held_at": "20:30", "place": "Salle du conseil",
              "members_in_office": 11, "present": ["Anne", "Bruno", "Chloé", "David", "Emma", "Farid"],
              "represented": [{"member": "Gilles", "proxy_holder": "Anne"}], "absent": ["Hélène"],
              "secretary": "Bruno"}
    values.update(over)
    return values


def test_the_api_creates_a_seance_lists_it_and_attaches_a_deliberation(app, actes_world, login_as):
    mayor = login_as("mayor_a")
    resp = _api(mayor, "/api/v1/actes/seances", _seance_payload())
    assert resp.status_code == 201, resp.get_json()
    seance = resp.get_json()
    assert seance["members_in_office"] == 11 and seance["represented"] == [{"member": "Gilles",
                                                                            "proxy_holder": "Anne"}]
    assert [s["id"] for s in mayor.get("/api/v1/actes/seances").get_json()] == [seance["id"]]

    act_id = make_act(app, actes_world.a, number="DEL_API")
    resp = _api(mayor, f"/api/v1/actes/seances/{seance['id']}/deliberations",
                {"act_id": act_id, "votes_for": 6, "votes_against": 1, "abstentions": 0, "result": "adopted"})
    assert resp.status_code == 201, resp.get_json()
    [item] = resp.get_json()["deliberations"]
    assert (item["number"], item["votes_for"], item["adopted"]) == ("DEL_API", 6, True)
    # A vote the séance cannot have: refused in French, nothing changed.
    resp = _api(mayor, f"/api/v1/actes/seances/{seance['id']}/deliberations",
                {"act_id": act_id, "votes_for": 9, "votes_against": 1, "result": "adopted"})
    assert resp.status_code == 422 and "plus que les 7 membres" in resp.get_json()["error"]


def test_the_api_refuses_bad_seances_and_people_without_the_permission(app, actes_world, login_as):
    mayor = login_as("mayor_a")
    resp = _api(mayor, "/api/v1/actes/seances", _seance_payload(secretary="Inconnu"))
    assert resp.status_code == 422 and "secrétaire de séance" in resp.get_json()["error"]
    resp = _api(mayor, "/api/v1/actes/seances", _seance_payload(held_on="demain"))
    assert resp.status_code == 422 and "date de la séance" in resp.get_json()["error"]
    assert mayor.http.post("/api/v1/actes/seances", data="[1]", content_type="application/json",
                           headers={"X-CSRFToken": mayor.csrf("/profil")}).status_code == 400
    assert mayor.get("/api/v1/actes/seances").get_json() == []
    elected = login_as("elected_a")  # reads, does not write
    assert _api(elected, "/api/v1/actes/seances", _seance_payload()).status_code == 403
    # Another commune's act cannot be put in one's séance.
    seance = _api(mayor, "/api/v1/actes/seances", _seance_payload()).get_json()
    foreign = make_act(app, actes_world.b, number="JAUCOURT_1")
    assert _api(mayor, f"/api/v1/actes/seances/{seance['id']}/deliberations",
                {"act_id": foreign, "votes_for": 1}).status_code == 404


def _seance(app, coll_id, held_on, *, present=6, office=11, population=None):
    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope
    from services.actes import seances

    with app.test_request_context(), territory_scope(None):
        coll = db.session.get(Collectivity, coll_id)
        coll.population = population
        names = [f"Membre {i}" for i in range(present)]
        s = seances.save_seance(coll, None, seances.SeanceFields(held_on, "20:00", "Mairie", office, names, [], [],
                                                                 names[0] if names else ""))
        db.session.commit()
        return s.id


def _convene(app, seance_id, sent_on, agenda=("Budget primitif", "Tarifs de la cantine"), second_of=None):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes import seances
    from services.actes.models import Seance

    with app.test_request_context(), territory_scope(None):
        s = db.session.get(Seance, seance_id)
        first = db.session.get(Seance, second_of) if second_of else None
        try:
            seances.convene(s, None, list(agenda), sent_on, second_of=first, today=TODAY)
        except seances.SeanceRefused as exc:
            db.session.rollback()
            return str(exc)
        db.session.commit()
        return None


@pytest.mark.parametrize("population, days, article", [(320, 3, "L2121-11"), (3499, 3, "L2121-11"),
                                                       (3500, 5, "L2121-12"), (None, 5, "L2121-12")])
def test_convocation_clear_days_by_population(app, actes_world, population, days, article):
    # Sent today, ``days`` clear days before: neither the day of sending nor the day of the séance counts.
    ok = _seance(app, actes_world.a, TODAY + dt.timedelta(days=days + 1), population=population)
    assert _convene(app, ok, TODAY) is None
    late = _seance(app, actes_world.a, TODAY + dt.timedelta(days=days), population=population)  # one day short
    message = _convene(app, late, TODAY)
    assert f"{days}\u00a0jours francs" in message or f"{days} jours francs" in message
    assert f"article {article} du CGCT" in message
    assert f"au plus tôt le {TODAY + dt.timedelta(days=days + 1):%d/%m/%Y}" in message


def test_convocation_refusals_and_its_pdf(app, actes_world, login_as):
    from pypdf import PdfReader

    held = TODAY + dt.timedelta(days=10)
    sid = _seance(app, actes_world.a, held, population=400)
    assert "ordre du jour" in _convene(app, sid, TODAY, agenda=())
    assert "après aujourd'hui" in _convene(app, sid, TODAY + dt.timedelta(days=1))
    assert _convene(app, sid, TODAY) is None
    assert "déjà été envoyée" in _convene(app, sid, TODAY)
    mayor = login_as("mayor_a")
    page = html.unescape(mayor.get(f"/s/actes/seances/{sid}").get_data(as_text=True))
    assert f"Convocation envoyée le {TODAY:%d/%m/%Y}" in page and "Tarifs de la cantine" in page
    resp = mayor.get(f"/s/actes/seances/{sid}/convocation.pdf")
    assert resp.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert "Ordre du jour" in text and "Budget primitif" in text and "Tarifs de la cantine" in text
    assert "3 jours francs" in text and "L2121-11" in text


def test_convocation_through_the_page_refused_in_french(app, actes_world, login_as):
    sid = _seance(app, actes_world.a, TODAY + dt.timedelta(days=2), population=5000)
    mayor = login_as("mayor_a")
    url = f"/s/actes/seances/{sid}"
    resp = mayor.post(f"{url}/convocation", {"agenda": "Budget", "convened_on": TODAY.isoformat()}, csrf_from=url)
    assert resp.status_code == 302
    page = html.unescape(mayor.get(url).get_data(as_text=True))
    assert "5\u00a0jours francs" in page or "5 jours francs" in page
    assert f"Convocation envoyée le {TODAY:%d/%m/%Y}" not in page


def _quorum(app, seance_id):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes import seances
    from services.actes.models import Seance

    with app.test_request_context(), territory_scope(None):
        result = seances.check_quorum(db.session.get(Seance, seance_id), None)
        db.session.commit()
        return result


@pytest.mark.parametrize("office, present, reached", [(11, 6, True), (11, 5, False), (10, 6, True), (10, 5, False),
                                                      (1, 1, True)])
def test_quorum_is_the_majority_of_members_in_office(app, actes_world, office, present, reached):
    sid = _seance(app, actes_world.a, TODAY, present=present, office=office)
    result = _quorum(app, sid)
    assert result.reached is reached
    if not reached:
        assert "Quorum non atteint" in result.message and "L2121-17" in result.message


def test_a_seance_without_quorum_takes_no_deliberation_and_a_second_convocation_needs_none(app, actes_world,
                                                                                           login_as):
    first_day = TODAY - dt.timedelta(days=10)
    first = _seance(app, actes_world.a, first_day, present=3)
    mayor = login_as("mayor_a")
    url = f"/s/actes/seances/{first}"
    assert mayor.post(f"{url}/quorum", {}, csrf_from=url).status_code == 302
    page = html.unescape(mayor.get(url).get_data(as_text=True))
    assert "Quorum non atteint" in page
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes import seances
    from services.actes.models import Act, Seance

    act_id = make_act(app, actes_world.a, number="SANS_QUORUM")
    with app.test_request_context(), territory_scope(None):
        act = db.session.get(Act, act_id)
        act.decision_date = first_day
        with pytest.raises(seances.SeanceRefused, match="quorum"):
            seances.attach(db.session.get(Seance, first), act, seances.Vote(3, 0, 0, True), None)
        db.session.rollback()

    # A second convocation two days after the first séance: refused (three days at least, L2121-17).
    too_soon = _seance(app, actes_world.a, first_day + dt.timedelta(days=2), present=2)
    message = _convene(app, too_soon, first_day - dt.timedelta(days=2), second_of=first)
    assert "trois jours au moins" in message and "L2121-17" in message
    # Three days after, convened three clear days before: deliberates without quorum (2 present of 11).
    second = _seance(app, actes_world.a, first_day + dt.timedelta(days=5), present=2)
    assert _convene(app, second, first_day + dt.timedelta(days=1), second_of=first) is None
    result = _quorum(app, second)
    assert result.reached and "sans condition de quorum" in result.message
    # A second convocation needs a first séance without quorum.
    other = _seance(app, actes_world.a, TODAY + dt.timedelta(days=20), present=6)
    assert "quorum n'a pas été atteint" in _convene(app, other, TODAY, second_of=second)


# Classification uploaded by hand ----------------------------------------------------------------------------------

def _classification(date: str = "2026-03-01", extra: bytes = b"") -> bytes:
    from services.actes.classification import default_xml

    xml = default_xml()
    start = xml.index(b"<actes:DateClassification>") + len(b"<actes:DateClassification>")
    end = xml.index(b"</actes:DateClassification>")
    return xml[:start] + date.encode() + xml[end:] + extra


def _upload(client, coll_id, data: bytes):
    page = f"/admin/s/actes/collectivites/{coll_id}"
    return client.post(f"{page}/classification/fichier", {"classification": (io.BytesIO(data), "classif.xml")},
                       content_type="multipart/form-data", csrf_from=page)


def _versions(app):
    from portal.extensions import db
    from services.actes.models import Classification

    with app.app_context():
        return [(c.prefecture, c.version_date) for c in db.session.scalars(select(Classification)
                                                                           .order_by(Classification.id))]


def test_a_classification_file_is_uploaded_whole_or_refused_in_french(app, actes_world, login_as):
    admin = login_as("dept_admin")
    before = _versions(app)
    cases = ((b"<actes:RetourClassification xmlns:actes='x'><unclosed>", "n'est pas un XML bien formé"),
             (b"<?xml version='1.0'?><autre/>", "RetourClassification"),
             (_classification("pas-une-date"), "DateClassification"),
             (_classification((TODAY + dt.timedelta(days=3)).isoformat()), "une date future"),
             (b"", "Choisissez le fichier"),
             (b"<!DOCTYPE x [<!ENTITY e 'boom'>]>" + _classification(), "DOCTYPE"))
    for data, message in cases:
        resp = _upload(admin, actes_world.a, data)
        assert resp.status_code == 422, message
        assert message in html.unescape(resp.get_data(as_text=True)), message
        assert _versions(app) == before  # nothing written
    resp = _upload(admin, actes_world.a, _classification("2026-03-01"))
    assert resp.status_code == 302
    assert ("PREF010", dt.date(2026, 3, 1)) in _versions(app)
    page = html.unescape(admin.get(f"/admin/s/actes/collectivites/{actes_world.a}").get_data(as_text=True))
    assert "version du 01/03/2026" in page
    # An older version than the copy kept is refused.
    resp = _upload(admin, actes_world.a, _classification("2025-01-01"))
    assert resp.status_code == 422 and "plus ancienne" in html.unescape(resp.get_data(as_text=True))
    # The deposit now checks the matières against the uploaded version.
    from portal.extensions import db
    from services.actes import operations

    with app.app_context():
        _nom, stored, announced = operations.nomenclature("PREF010")
        assert stored == dt.date(2026, 3, 1) and announced == dt.date(2026, 3, 1)
    # Agents of the department read; they do not upload.
    assert _upload(login_as("dept_agent"), actes_world.a, _classification("2026-04-01")).status_code == 403
