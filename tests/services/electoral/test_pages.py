"""Search, voter page, registration with duplicate checks, changes and removal, bureaux, elections. Fictitious people."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select


def _register_data(**kw):
    data = {"birth_name": "Durand", "usage_name": "", "first_names": "Léa Marie", "sex": "F",
            "birth_date": "12/06/1985", "birth_place": "Bar-sur-Aube", "birth_department": "10", "birth_country": "",
            "nationality": "", "street_number": "5", "street_type": "rue", "street_name": "des Vignes",
            "lieu_dit": "", "complement1": "", "postal_code": "10200", "city": "Ailleville", "ine": "",
            "on_general": "y", "bureau": "0", "bureau_reason": "", "reason": "voluntary",
            "effective_on": "02/01/2026", "note": ""}
    data.update(kw)
    return data


def test_search_is_accent_and_case_insensitive(elec, login_as):
    c = login_as("secretary_a")
    body = c.get("/s/electoral/?q=etienne").get_data(as_text=True)
    assert "ÉTIENNE" in body and "MARTIN" not in body
    body = c.get("/s/electoral/?q=ELODIE").get_data(as_text=True)
    assert "MARTIN" in body
    assert "MARTIN" in c.get("/s/electoral/?q=04/05/1980").get_data(as_text=True)
    assert "MARTIN" in c.get("/s/electoral/?q=123456789").get_data(as_text=True)
    assert "MARTIN" in c.get("/s/electoral/?q=mairie").get_data(as_text=True)  # address
    assert "SECRETNOMB" not in c.get("/s/electoral/?q=secretnomb").get_data(as_text=True)


def test_index_lines_show_what_the_voter_shows(elec, login_as, app, world, add_voter):
    """The index reads its lines as columns, not Voter rows: each line is still the voter's link, display name,
    birth date, address, bureau number and lists' labels as the Voter entity gives them, in the search's order."""
    import html
    import re

    from portal.extensions import db
    from services.electoral import roll

    add_voter(world.insee_a, "Lefèvre", "Anne", "1961-02-03", elec.bureau_a2, usage_name="DUPONT",
              complement1="Bât. B", complement2="Appt 4 & 5", street_number="12 bis", street_type="rue",
              street_name="des Vignes", lieu_dit="Les <Hauts>", on_eu=True, on_municipal=True, on_general=False)
    add_voter(world.insee_a, "MARTIN", "Jean", "1950-12-31", None, usage_name="Martin", lieu_dit="La Ferme")
    add_voter(world.insee_a, "MARTINEZ", "Luis", "1999-01-01", elec.bureau_a, on_municipal=True, nationality="ES")
    c = login_as("secretary_a")
    for query in ("", "?q=mart", "?q=vignes", f"?bureau={elec.bureau_a2}"):
        body = c.get("/s/electoral/" + query).get_data(as_text=True)
        shown = re.findall(r'<tr>\s*<td><a href="([^"]+)">([^<]*)</a></td>\s*<td class="nowrap">([^<]*)</td>\s*'
                           r'<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>((?:<span class="badge">[^<]*</span> )*)</td>',
                           body)
        with app.test_request_context("/s/electoral/" + query):
            from flask import url_for

            from portal import tenancy
            from services.electoral.labels import LIST_LABELS

            tenancy.activate(frozenset({world.insee_a}))
            bureau = int(query.split("=")[1]) if "bureau" in query else None
            voters, total = roll.search(query.partition("q=")[2], bureau, "registered")
            expected = [(url_for("electoral.voter", voter_id=v.id), v.display_name, v.birth_date.strftime("%d/%m/%Y"),
                         v.address_line, v.bureau.number if v.bureau else "—",
                         "".join(f'<span class="badge">{LIST_LABELS[name]}</span> ' for name in v.lists))
                        for v in voters]
            db.session.rollback()
        assert len(expected) == total and expected
        assert [tuple(html.unescape(x) for x in line) for line in shown] == expected, query
    assert "Les &lt;Hauts&gt;" in c.get("/s/electoral/?q=vignes").get_data(as_text=True)


def test_index_shows_upcoming_deadlines_in_french(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import Election

    with app.app_context():
        e = db.session.get(Election, elec.election_a)
        e.first_round = dt.date.today() + dt.timedelta(days=60)
        e.second_round = None
        db.session.commit()
    body = login_as("mayor_a").get("/s/electoral/").get_data(as_text=True)
    assert "Prochaines échéances" in body
    assert "L. 17 I" in body


def test_voter_page_shows_history_and_is_audited(elec, login_as, app):
    from portal.extensions import db
    from portal.models import AuditEvent

    c = login_as("elected_a")
    body = c.get(f"/s/electoral/electeurs/{elec.voter_a}").get_data(as_text=True)
    assert "MARTIN" in body and "Historique" in body and "Inscription" in body
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "electoral.voter_viewed",
                                                          AuditEvent.target_id == str(elec.voter_a)))


def test_register_proposes_bureau_from_street_and_writes_history(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import Voter

    c = login_as("secretary_a")
    resp = c.post("/s/electoral/inscrire", _register_data(), csrf_from="/s/electoral/inscrire")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    with app.app_context():
        v = db.session.scalar(select(Voter).where(Voter.birth_name == "DURAND"))
        assert v.bureau_id == elec.bureau_a2  # rue des Vignes → bureau 2
        assert [m.kind for m in v.movements] == ["registration"]
        assert v.movements[0].author == "secretaire@ailleville.test.example.org"


def test_register_checks_duplicates_here_first(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import Voter

    c = login_as("secretary_a")
    data = _register_data(birth_name="martin", first_names="elodie", birth_date="04/05/1980")
    body = c.post("/s/electoral/inscrire", data, csrf_from="/s/electoral/inscrire").get_data(as_text=True)
    assert "Doublon possible" in body and f"/s/electoral/electeurs/{elec.voter_a}" in body
    with app.app_context():
        assert db.session.scalar(select(Voter).where(Voter.birth_name == "MARTIN").where(Voter.id != elec.voter_a)) is None
    data["confirm_duplicate"] = "y"
    assert c.post("/s/electoral/inscrire", data, csrf_from="/s/electoral/inscrire").status_code == 302


def test_same_identity_elsewhere_is_flagged_without_revealing_the_other_commune(elec, login_as, app):
    from portal.extensions import db
    from portal.models import AuditEvent

    c = login_as("secretary_a")
    data = _register_data(birth_name="Secretnomb", first_names="Zoe", birth_date="08/07/1990")
    body = c.post("/s/electoral/inscrire", data, csrf_from="/s/electoral/inscrire").get_data(as_text=True)
    assert "autre commune du département" in body
    for leak in ("Jaucourt", "10176", "Secretrueb", "987654321", "Secretbureau", f"electeurs/{elec.voter_b}"):
        assert leak not in body
    with app.app_context():
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "electoral.identity_checked_in_department"))
        assert ev.details == {"found": True}


def test_registered_elsewhere_lookup_returns_only_a_boolean(elec, app, world):
    from portal.tenancy import territory_scope
    from services.electoral import roll

    with app.test_request_context(), territory_scope({world.insee_a}):
        yes = roll.registered_elsewhere_in_department("SECRETNOMB", "Zoé", dt.date(1990, 7, 8), world.insee_a)
        no = roll.registered_elsewhere_in_department("SECRETNOMB", "Zoé", dt.date(1990, 7, 9), world.insee_a)
        own = roll.registered_elsewhere_in_department("MARTIN", "Élodie", dt.date(1980, 5, 4), world.insee_a)
        # the territory filter is back once the lookup is over
        from portal.extensions import db
        from services.electoral.models import Voter

        assert {v.commune_insee for v in db.session.scalars(select(Voter))} == {world.insee_a}
    assert yes is True and no is False and own is False


def test_bad_input_gives_french_messages_and_writes_nothing(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import Voter

    c = login_as("secretary_a")
    body = c.post("/s/electoral/inscrire", _register_data(birth_date="31/02/1980"),
                  csrf_from="/s/electoral/inscrire").get_data(as_text=True)
    assert "Saisissez une date réelle" in body
    young = (dt.date.today() - dt.timedelta(days=365 * 16)).strftime("%d/%m/%Y")
    body = c.post("/s/electoral/inscrire", _register_data(birth_date=young, effective_on=dt.date.today().strftime("%d/%m/%Y")),
                  csrf_from="/s/electoral/inscrire").get_data(as_text=True)
    assert "18 ans" in body
    body = c.post("/s/electoral/inscrire", _register_data(bureau="999999"),
                  csrf_from="/s/electoral/inscrire").get_data(as_text=True)
    assert "pas un choix valide" in body or "existe pas" in body
    with app.app_context():
        assert db.session.scalar(select(Voter).where(Voter.birth_name == "DURAND")) is None


def test_forcing_another_bureau_needs_a_reason(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import Voter

    c = login_as("secretary_a")
    body = c.post("/s/electoral/inscrire", _register_data(bureau=str(elec.bureau_a)),
                  csrf_from="/s/electoral/inscrire").get_data(as_text=True)
    assert "raison" in body.lower()
    resp = c.post("/s/electoral/inscrire", _register_data(bureau=str(elec.bureau_a), bureau_reason="Handicap : accès"),
                  csrf_from="/s/electoral/inscrire")
    assert resp.status_code == 302
    with app.app_context():
        v = db.session.scalar(select(Voter).where(Voter.birth_name == "DURAND"))
        assert v.bureau_id == elec.bureau_a and "Handicap" in v.movements[0].note


def test_change_and_remove_keep_history_and_roll_at_past_date(elec, login_as, app, world):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral import roll
    from services.electoral.models import Voter

    c = login_as("mayor_a")
    page = f"/s/electoral/electeurs/{elec.voter_a}/modifier"
    form = c.get(page).get_data(as_text=True)
    assert "MARTIN" in form
    resp = c.post(page, {"kind": "address", "reason": "declared", "effective_on": "01/03/2025",
                         "birth_name": "MARTIN", "first_names": "Élodie Anne", "sex": "F", "birth_date": "04/05/1980",
                         "birth_place": "Troyes", "birth_department": "10", "street_number": "8",
                         "street_type": "rue", "street_name": "des Vignes", "on_general": "y",
                         "bureau": str(elec.bureau_a2), "ine": "123456789"}, csrf_from=page)
    assert resp.status_code == 302
    resp = c.post(f"/s/electoral/electeurs/{elec.voter_a}/radier",
                  {"reason": "death", "effective_on": "10/06/2025"}, csrf_from=f"/s/electoral/electeurs/{elec.voter_a}")
    assert resp.status_code == 302
    body = c.get(f"/s/electoral/electeurs/{elec.voter_a}").get_data(as_text=True)
    assert "Décès" in body and "Changement d" in body and "Radié" in body
    with app.app_context(), territory_scope({world.insee_a}):
        v = db.session.get(Voter, elec.voter_a)
        assert [m.kind for m in v.movements] == ["registration", "address", "removal"]
        assert v.movements[1].changes["street_number"] == ["3", "8"]
        assert v.movements[1].changes["bureau"] == ["1", "2"]
        assert elec.voter_a in roll.roll_at(dt.date(2025, 6, 9))
        assert elec.voter_a not in roll.roll_at(dt.date(2025, 6, 10))
        assert elec.voter_a not in roll.roll_at(dt.date(2019, 12, 31))


def test_elected_cannot_write(elec, login_as):
    c = login_as("elected_a")
    assert c.get("/s/electoral/inscrire").status_code == 403
    assert c.post("/s/electoral/electeurs/%d/radier" % elec.voter_a, {"reason": "death", "effective_on": "01/01/2025"},
                  csrf_from="/profil").status_code == 403


def test_bureaux_and_street_table(elec, login_as, app):
    from portal.extensions import db
    from services.electoral.models import PollingStation, StreetBureau

    c = login_as("secretary_a")
    body = c.post("/s/electoral/bureaux", {"b-number": "3", "b-name": "École", "b-latitude": "12.5"},
                  csrf_from="/s/electoral/bureaux").get_data(as_text=True)
    assert "entre 41 et 51.5" in body
    resp = c.post("/s/electoral/bureaux", {"b-number": "3", "b-name": "École", "b-address": "",
                                           "b-latitude": "48.2466", "b-longitude": "4.6912"},
                  csrf_from="/s/electoral/bureaux")
    assert resp.status_code == 302
    with app.app_context():
        new_id = db.session.scalar(select(PollingStation.id).where(PollingStation.number == "3"))
    assert "48.246600, 4.691200" in c.get(f"/s/electoral/bureaux/{new_id}").get_data(as_text=True)
    body = c.post("/s/electoral/bureaux", {"b-number": "3", "b-name": "Autre"},
                  csrf_from="/s/electoral/bureaux").get_data(as_text=True)
    assert "déjà ce numéro" in body
    resp = c.post("/s/electoral/bureaux", {"s-street": "Route de Bar", "s-bureau": str(elec.bureau_a)},
                  csrf_from="/s/electoral/bureaux")
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PollingStation).where(PollingStation.number == "3")).name == "École"
        assert db.session.scalar(select(StreetBureau).where(StreetBureau.street_key == "route de bar"))


def test_elections_page_and_calendar(elec, login_as):
    c = login_as("secretary_a")
    resp = c.post("/s/electoral/scrutins", {"kind": "european", "title": "", "first_round": "09/06/2024",
                                            "second_round": ""}, csrf_from="/s/electoral/scrutins")
    assert resp.status_code == 302
    body = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "03/05/2024" in body  # 6th Friday before 9 June 2024 (L. 17), the published deadline
    body = c.post("/s/electoral/scrutins", {"kind": "municipal", "first_round": "30/02/2026"},
                  csrf_from="/s/electoral/scrutins").get_data(as_text=True)
    assert "Saisissez une date réelle" in body


def test_department_staff_and_epci_never_see_voters(elec, login_as, world):
    for who in ("dept_admin", "dept_agent", "epci_user"):
        c = login_as(who)
        for url in ("/s/electoral/", f"/s/electoral/electeurs/{elec.voter_a}", "/s/electoral/export.csv",
                    "/api/v1/electoral/voters", f"/api/v1/electoral/voters/{elec.voter_a}"):
            resp = c.get(url)
            assert resp.status_code in (302, 403, 404), (who, url, resp.status_code)
            assert "MARTIN" not in resp.get_data(as_text=True)


def test_removal_with_supporting_document(elec, login_as, app):
    import io

    from portal.extensions import db
    from portal.models import AuditEvent
    from services.electoral.models import Movement

    c = login_as("secretary_a")
    page = f"/s/electoral/electeurs/{elec.voter_a2}"
    resp = c.post(f"{page}/radier", {"reason": "death", "effective_on": "01/02/2025",
                                     "justification": (io.BytesIO(b"MZ\x90"), "virus.exe")},
                  csrf_from=page, content_type="multipart/form-data", follow_redirects=True)
    assert "PDF, JPEG ou PNG" in resp.get_data(as_text=True)
    resp = c.post(f"{page}/radier", {"reason": "death", "effective_on": "01/02/2025",
                                     "justification": (io.BytesIO(b"%PDF-1.4 avis de deces fictif"), "avis deces.pdf")},
                  csrf_from=page, content_type="multipart/form-data")
    assert resp.status_code == 302
    with app.app_context():
        m = db.session.scalar(select(Movement).where(Movement.voter_id == elec.voter_a2, Movement.kind == "removal"))
        movement_id = m.id
    body = c.get(page).get_data(as_text=True)
    assert f"/s/electoral/mouvements/{movement_id}/justificatif" in body
    doc = c.get(f"/s/electoral/mouvements/{movement_id}/justificatif")
    assert doc.status_code == 200 and doc.data.startswith(b"%PDF") and doc.mimetype == "application/pdf"
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "electoral.justification_read"))


def test_registration_with_supporting_document(elec, login_as, app):
    import io

    from portal.extensions import db
    from services.electoral.models import Movement, Voter

    c = login_as("secretary_a")
    data = _register_data(birth_name="Justifie", reason="naturalisation", nationality="",
                          justification=(io.BytesIO(b"%PDF-1.4 decret de naturalisation fictif"), "decret.pdf"))
    resp = c.post("/s/electoral/inscrire", data, csrf_from="/s/electoral/inscrire", content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        v = db.session.scalar(select(Voter).where(Voter.birth_name == "JUSTIFIE"))
        m = db.session.scalar(select(Movement).where(Movement.voter_id == v.id))
        assert m.kind == "registration" and m.justification_name == "decret.pdf"
        assert m.justification.startswith(b"%PDF")
    bad = _register_data(birth_name="Autre", justification=(io.BytesIO(b"MZ\x90"), "virus.exe"))
    body = c.post("/s/electoral/inscrire", bad, csrf_from="/s/electoral/inscrire",
                  content_type="multipart/form-data").get_data(as_text=True)
    assert "PDF, JPEG ou PNG" in body
    with app.app_context():
        assert db.session.scalar(select(Voter).where(Voter.birth_name == "AUTRE")) is None
