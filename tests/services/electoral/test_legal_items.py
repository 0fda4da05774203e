"""Legal correctness of the electoral rolls: ELIRE commune codes, the émargement order of every letter.
Every person is FICTITIOUS."""
from __future__ import annotations

from .test_import_export import count_voters, fictitious_rows, to_csv, upload


def test_elire_code_commune_accepts_the_insee_code_and_the_three_character_code(app, world, subscribe, login_as):
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    rows = fictitious_rows(4)
    rows[0]["CodeCommune"], rows[0]["CodeDepartement"] = "002", "10"      # ELIRE: code within the department
    rows[1]["CodeCommune"], rows[1]["CodeDepartement"] = "10002", "10"    # the INSEE code
    rows[2]["CodeCommune"], rows[2]["CodeDepartement"] = "2", "10"        # leading zeros dropped by a spreadsheet
    resp = upload(c, to_csv(rows))
    url = resp.headers["Location"]
    preview = c.get(url).get_data(as_text=True)
    assert "Nouveaux électeurs\xa0: 4" in preview and "autre commune" not in preview
    c.post(url + "/confirmer", {}, csrf_from=url)
    assert count_voters(app) == 4
    # another commune's line stays refused, whichever way its code is written
    other = fictitious_rows(2, seed=9)
    other[0]["CodeCommune"], other[0]["CodeDepartement"] = "003", "10"
    preview = c.get(upload(c, to_csv(other)).headers["Location"]).get_data(as_text=True)
    assert "autre commune (10003)" in preview


def test_commune_code_of_overseas_and_corsican_departments():
    from services.electoral.csvio import commune_code

    assert commune_code("101", "971") == "97101"
    assert commune_code("004", "2A") == "2A004"
    assert commune_code("2A004", "2A") == "2A004"
    assert commune_code("", "10") == ""


def test_emargement_order_keeps_oe_and_ae(app):
    """Œ, Æ, ß, Ø, Ł… are transliterated before folding: the legal order over the whole alphabet, particles and
    apostrophes."""
    import datetime as dt
    from types import SimpleNamespace

    from portal.models import fold
    from services.electoral.models import legal_sort_key

    assert fold("ŒUVRARD") == "oeuvrard" and fold("LÆTITIA") == "laetitia" and fold("Straße") == "strasse"
    assert fold("ØSTERGAARD") == "ostergaard" and fold("ŁUKASZEWSKI") == "lukaszewski"
    assert fold("D’ARTAGNAN") == fold("D'ARTAGNAN") == "d artagnan"
    expected = ["ABADIE", "BÉRANGER", "CÆSAR", "ÇA-IRA", "D'ARTAGNAN", "DELACROIX", "DE LA FONTAINE", "ÉMERY",
                "FAURE", "GÂTEAU", "HÉLÈNE", "ÎLE", "JÉRÔME", "KŒNIG", "LÆTITIA", "LAFONT", "ŁUKASZEWSKI",
                "MÜLLER", "NOËL", "OBERT", "ŒUVRARD", "ØSTERGAARD", "OZANNE", "PÈRE", "QUÉRÉ", "ROßMANN", "ROUX",
                "SŒUR", "STRAUSS", "TÊTE", "ÜBEL", "VAN DER BERG", "WÆBER", "XAVIER", "YŸVES", "ZOÉ"]
    people = [SimpleNamespace(birth_name=name, first_names="Jean", birth_date=dt.date(1970, 1, 1), id=i)
              for i, name in enumerate(reversed(expected))]
    assert [p.birth_name for p in sorted(people, key=legal_sort_key)] == expected


def test_registration_deadline_per_election_with_its_legal_reference(app, world, login_as, elec):
    """Legislative elections of 30 June 2024 (dissolution of 9 June): the decree fixed its own deadline."""
    import datetime as dt

    from portal.extensions import db
    from services.electoral.models import Election

    c = login_as("secretary_a")
    form = {"kind": "legislative", "title": "Législatives anticipées 2024", "first_round": "30/06/2024",
            "second_round": "07/07/2024", "registration_deadline": "09/06/2024"}
    refused = c.post("/s/electoral/scrutins", form, csrf_from="/s/electoral/scrutins")
    assert refused.status_code == 200 and "référence" in refused.get_data(as_text=True)
    reference = "décret n° 2024-527 du 9 juin 2024 portant convocation des électeurs"
    resp = c.post("/s/electoral/scrutins", dict(form, registration_deadline_reference=reference),
                  csrf_from="/s/electoral/scrutins")
    assert resp.status_code == 302
    page = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "09/06/2024" in page and "décret n° 2024-527" in page
    assert "24/05/2024" not in page  # the L. 17 deadline (6th Friday before) is replaced
    with app.app_context():
        e = db.session.query(Election).filter_by(title="Législatives anticipées 2024").one()
        eid = e.id
        assert e.registration_deadline == dt.date(2024, 6, 9)
    api = c.get(f"/api/v1/electoral/elections/{eid}/calendar").get_json()
    [registration] = [d for d in api["deadlines"] if "2024-527" in d["article"]]
    assert registration["date"] == "2024-06-09" and "L. 17 I" not in [d["article"] for d in api["deadlines"]]
    # the deadline may be cleared again (back to L. 17), from the election's page
    url = f"/s/electoral/scrutins/{eid}"
    assert c.post(url + "/date-inscriptions", {"registration_deadline": "", "registration_deadline_reference": ""},
                  csrf_from=url).status_code == 302
    assert "24/05/2024" in c.get(url).get_data(as_text=True)
    late = c.post(url + "/date-inscriptions", {"registration_deadline": "01/07/2024",
                                               "registration_deadline_reference": reference}, csrf_from=url)
    assert late.status_code == 400
