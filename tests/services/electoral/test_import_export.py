"""Import and export in the layout of the arrêté du 12 novembre 2013: encodings, preview then confirm, all or nothing
with a per-line report, and the round trip. Every person is FICTITIOUS (generated with Faker fr_FR)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random

from faker import Faker
from sqlalchemy import func, select

from services.electoral.csvio import COLUMNS

URL = "/s/electoral/import"


def fictitious_rows(n: int, insee: str = "10002", seed: int = 4) -> list[dict]:
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        sex = rnd.choice("MF")
        born = fake.date_of_birth(minimum_age=18, maximum_age=95)
        base = {c: "" for c in COLUMNS}
        base.update({"TypeListe": "LG", "InfoListe": "liste électorale", "CodeDepartement": "10",
                     "CodeCommune": insee, "NomCommune": "Ailleville", "NoElecteurGeneral": str(i + 1), "Sexe": sex,
                     "NomdeNaissance": fake.last_name().upper(),
                     "Prenoms": (fake.first_name_male() if sex == "M" else fake.first_name_female()),
                     "DateDeNaissance": born.strftime("%d/%m/%Y"), "NomComNaissance": fake.city(),
                     "DeptNaissance": f"{rnd.randint(1, 95):02d}", "NoBureauDeVote": str(1 + i % 2),
                     "NomBureauDeVote": "Mairie" if i % 2 == 0 else "Salle des fêtes",
                     "NumeroVoie": str(rnd.randint(1, 40)), "TypeVoie": "rue", "LibelleVoie": fake.street_name(),
                     "CodePostal": "10200", "VilleLocalite": "AILLEVILLE"})
        rows.append(base)
    rows.append({**rows[0], "TypeListe": "LCE", "Nationalite": "BELGE"} if False else None)
    return [r for r in rows if r]


def to_csv(rows, encoding="utf-8", bom=False, columns=COLUMNS) -> bytes:
    out = io.StringIO(newline="")
    w = csv.DictWriter(out, fieldnames=columns, delimiter=";", lineterminator="\r\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def upload(client, data: bytes, name="liste.csv"):
    return client.post(URL, {"file": (io.BytesIO(data), name)}, csrf_from=URL, content_type="multipart/form-data")


def count_voters(app, insee="10002"):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import Voter

    with app.app_context(), territory_scope({insee}):
        return db.session.scalar(select(func.count()).select_from(Voter).where(Voter.status == "registered"))


def test_import_preview_then_confirm_then_round_trip(app, world, subscribe, login_as):
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    rows = fictitious_rows(40)
    rows.append({**rows[3], "TypeListe": "LCM", "Nationalite": "ITALIENNE", "NoElecteurGeneral": "1"})
    rows[3]["Nationalite"] = "ITALIENNE"
    raw = to_csv(rows)
    resp = upload(c, raw)
    assert resp.status_code == 302
    preview = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Nouveaux électeurs\xa0: 40" in preview and "Nouveaux bureaux de vote" in preview
    assert count_voters(app) == 0  # nothing written before the confirmation
    batch_url = resp.headers["Location"]
    resp = c.post(batch_url + "/confirmer", {}, csrf_from=batch_url)
    assert resp.status_code == 302
    assert count_voters(app) == 40
    export = c.get("/s/electoral/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    exported = list(csv.DictReader(io.StringIO(export.get_data(as_text=True)), delimiter=";"))
    assert list(exported[0].keys()) == COLUMNS

    def comparable(rs):
        drop = {"NoElecteurGeneral", "DateCreationListe", "NomCommune", "VilleLocalite"}
        return sorted(tuple((k, v) for k, v in r.items() if k not in drop) for r in rs)

    assert comparable(exported) == comparable(rows)
    # re-importing the export changes nothing
    resp = upload(c, export.data, "export.csv")
    preview = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Inchangés\xa0: 40" in preview and "Nouveaux électeurs\xa0: 0" in preview


def test_windows_1252_with_and_without_bom(app, world, subscribe, login_as):
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    rows = fictitious_rows(5)
    rows[0]["NomdeNaissance"] = "LEFÈVRE"
    for raw in (to_csv(rows, "cp1252"), to_csv(rows, bom=True)):
        resp = upload(c, raw)
        preview = c.get(resp.headers["Location"]).get_data(as_text=True)
        assert "Nouveaux électeurs\xa0: 5" in preview and "LEFÈVRE" in preview


def test_every_bad_line_is_reported_and_nothing_is_written(app, world, subscribe, login_as):
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    rows = fictitious_rows(6)
    rows[1]["DateDeNaissance"] = "31/02/1980"
    rows[2]["Sexe"] = "X"
    rows[3]["DateDeNaissance"] = (dt.date.today() - dt.timedelta(days=365 * 15)).strftime("%d/%m/%Y")
    rows[4]["CodeCommune"] = "10176"
    resp = upload(c, to_csv(rows))
    url = resp.headers["Location"]
    preview = c.get(url).get_data(as_text=True)
    assert "4 ligne(s) refusée(s)" in preview
    assert "31/02/1980" in preview and "M ou F" in preview and "moins de 18 ans" in preview and "autre commune" in preview
    assert "<td>3</td>" in preview and "<td>6</td>" in preview  # line numbers of the file (header = line 1)
    assert "Confirmer l" not in preview
    resp = c.post(url + "/confirmer", {}, csrf_from="/profil")
    assert count_voters(app) == 0


def test_missing_columns_and_wrong_encoding_are_refused_clearly(app, world, subscribe, login_as):
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    cols = [col for col in COLUMNS if col != "Prenoms"]
    resp = upload(c, to_csv(fictitious_rows(2), columns=cols))
    body = c.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Colonnes obligatoires absentes" in body and "Prenoms" in body
    resp = upload(c, to_csv(fictitious_rows(2), encoding="utf-16"))
    body = c.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "UTF-16" in body
    resp = upload(c, to_csv(fictitious_rows(2)).replace(b";", b","))
    body = c.get(resp.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "points-virgules" in body
    assert count_voters(app) == 0


def test_import_detects_modified_and_removed_voters(app, world, subscribe, login_as):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral.models import Voter

    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    rows = fictitious_rows(10)
    resp = upload(c, to_csv(rows))
    c.post(resp.headers["Location"] + "/confirmer", {}, csrf_from="/profil")
    moved = dict(rows[0], NumeroVoie="99", LibelleVoie="Grande Rue")
    gone = rows[1]
    resp = upload(c, to_csv([moved] + rows[2:]))
    url = resp.headers["Location"]
    preview = c.get(url).get_data(as_text=True)
    assert "Électeurs modifiés\xa0: 1" in preview and "Électeurs à radier (absents du fichier)\xa0: 1" in preview
    assert gone["NomdeNaissance"] in preview
    c.post(url + "/confirmer", {}, csrf_from="/profil")
    with app.app_context(), territory_scope({world.insee_a}):
        v = db.session.scalar(select(Voter).where(Voter.birth_name == rows[0]["NomdeNaissance"],
                                                  Voter.first_names == rows[0]["Prenoms"]))
        assert v.street_number == "99" and v.movements[-1].kind == "address"
        assert v.movements[-1].changes["street_name"][1] == "Grande Rue"
        g = db.session.scalar(select(Voter).where(Voter.birth_name == gone["NomdeNaissance"],
                                                  Voter.first_names == gone["Prenoms"]))
        assert g.status == "removed" and g.movements[-1].kind == "removal"
        gone_id = g.id
    # the voter comes back in the next file: reinstated on the same record (history kept), not registered twice
    back = dict(gone, NumeroVoie="7")
    resp = upload(c, to_csv([moved, back] + rows[2:]))
    url = resp.headers["Location"]
    preview = c.get(url).get_data(as_text=True)
    assert "à réinscrire\xa0: 1" in preview and "Nouveaux électeurs\xa0: 0" in preview
    body = c.post(url + "/confirmer", {}, csrf_from="/profil", follow_redirects=True).get_data(as_text=True)
    assert "1 réinscription(s)" in body
    with app.app_context(), territory_scope({world.insee_a}):
        same = db.session.scalars(select(Voter).where(Voter.birth_name == gone["NomdeNaissance"],
                                                      Voter.first_names == gone["Prenoms"])).all()
        assert [v.id for v in same] == [gone_id]
        assert same[0].status == "registered" and same[0].street_number == "7"
        assert [m.kind for m in same[0].movements] == ["registration", "removal", "reinstatement"]


def test_cancel_and_elected_cannot_import(app, world, subscribe, login_as):
    subscribe("electoral", world.a)
    c = login_as("secretary_a")
    resp = upload(c, to_csv(fictitious_rows(3)))
    url = resp.headers["Location"]
    assert c.post(url + "/annuler", {}, csrf_from="/profil").status_code == 302
    assert c.get(url).status_code == 404
    assert count_voters(app) == 0
    assert login_as("elected_a").get(URL).status_code == 403
