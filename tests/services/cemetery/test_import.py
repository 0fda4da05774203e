"""The import of a cemetery register (CSV or XLSX): a preview that writes nothing, a report of every refused line,
all or nothing."""
from __future__ import annotations

import io

from sqlalchemy import func, select

HEADER = ("cimetiere;zone;allee;emplacement;type_emplacement;places;concession_numero;concession_type;duree;debut;fin;"
          "prix;titulaire_nom;titulaire_prenoms;defunt_nom;defunt_prenoms;defunt_naissance;defunt_deces;"
          "defunt_inhumation;defunt_mode")
GOOD = [
    "Cimetière neuf;Nord;A;1;concession;2;T-1;trentenaire;;14/03/1998;;180,00;MARTIN;Jeanne;MARTIN;Louis;02/05/1931;"
    "10/03/1998;14/03/1998;cercueil",
    "Cimetière neuf;Nord;A;1;concession;2;T-1;trentenaire;;14/03/1998;;180,00;MARTIN;Jeanne;MARTIN;Rose;01/01/1935;"
    "01/02/2004;05/02/2004;urne",
    "Cimetière neuf;Nord;A;2;terrain commun;1;;;;;;;;;DUPONT;Marcel;;05/01/2019;09/01/2019;cercueil",
    "Cimetière neuf;Nord;B;1;columbarium;0,4;;;;;;;;;;;;;;",
]
BAD = [
    "Cimetière neuf;Nord;A;3;concession;2;T-3;temporaire;20;01/01/2000;;;LEROY;Ana;;;;;;",  # 20 years: refused
    "Cimetière neuf;Nord;A;4;concession;2;T-4;trentenaire;;31/02/2000;;;LEROY;Ana;;;;;;",  # not a date
    "Cimetière neuf;Nord;A;2;terrain commun;1;;;;;;;;;DURAND;Jean;;01/01/2020;02/01/2020;cercueil",  # full
    "Cimetière neuf;Nord;A;5;chapelle;2;;;;;;;;;;;;;;",  # unknown type
    "Cimetière neuf;Nord;A;6;concession;2;T-6;trentenaire;;01/01/2010;01/01/2005;;LEROY;Ana;;;;;;",  # end < start
    ";Nord;A;7;concession;;;;;;;;;;;;;;;",  # no cemetery
]


def _count(app, insee):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cemetery.models import Deceased, Plot

    with app.app_context(), territory_scope({insee}):
        return (db.session.scalar(select(func.count()).select_from(Plot)),
                db.session.scalar(select(func.count()).select_from(Deceased)))


def _send(client, body: bytes, name: str):
    token = client.csrf("/s/cemetery/import")
    return client.http.post("/s/cemetery/import", data={"csrf_token": token, "file": (io.BytesIO(body), name)},
                            content_type="multipart/form-data")


def test_a_file_with_errors_is_refused_whole_with_a_line_report(app, cemetery_world, login_as, world):
    before = _count(app, world.insee_a)
    sec = login_as("secretary_a")
    page = _send(sec, ("\n".join([HEADER, *GOOD, *BAD]) + "\n").encode("utf-8"), "registre.csv").get_data(as_text=True)
    assert before == _count(app, world.insee_a)  # nothing written, not even the good lines
    for line in range(6, 12):
        assert f"<td>{line}</td>" in page, line
    assert "<td>5</td>" not in page and "<td>2</td>" not in page
    assert "L2223-14" in page and "31/02/2000" in page
    assert sec.post("/s/cemetery/import/confirmer", {}, csrf_from="/s/cemetery/import").status_code == 302
    assert before == _count(app, world.insee_a)  # no preview kept: the confirmation does nothing


def test_a_correct_csv_is_previewed_then_imported(app, cemetery_world, login_as, world):
    before = _count(app, world.insee_a)
    sec = login_as("secretary_a")
    body = ("\n".join([HEADER, *GOOD]) + "\n").encode("cp1252")  # Excel's CSV of a French Windows
    page = _send(sec, body, "registre.csv").get_data(as_text=True)
    assert "import/confirmer" in page and before == _count(app, world.insee_a)
    assert sec.post("/s/cemetery/import/confirmer", {}, csrf_from="/s/cemetery/import").status_code == 302
    plots, bodies = _count(app, world.insee_a)
    assert (plots - before[0], bodies - before[1]) == (3, 3)
    found = sec.get("/s/cemetery/recherche?q=martin").get_data(as_text=True)
    assert "MARTIN Rose" in found and "MARTIN Jeanne" in found
    assert _count(app, world.insee_b)[1] == 1  # Jaucourt untouched


def test_an_xlsx_is_read_and_a_damaged_file_refused_in_french(app, cemetery_world, login_as, world):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(";"))
    for row in GOOD:
        sheet.append(row.split(";"))
    buf = io.BytesIO()
    book.save(buf)
    sec = login_as("secretary_a")
    page = _send(sec, buf.getvalue(), "registre.xlsx").get_data(as_text=True)
    assert "import/confirmer" in page
    refused = _send(sec, b"PK\x03\x04garbage", "registre.xlsx")
    assert refused.status_code == 302
    assert "alert-error" in sec.get("/s/cemetery/import").get_data(as_text=True)
    missing = _send(sec, b"zone;allee\nA;B\n", "registre.csv")
    assert missing.status_code == 302
    assert "cimetiere" in sec.get("/s/cemetery/import").get_data(as_text=True)
