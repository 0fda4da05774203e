"""Browser walk of the electoral rolls service: a secretary registers a (fictitious) voter, sees the polling station
proposed from the street, and prints the bureau's émargement list."""
from __future__ import annotations

import datetime as dt
import io

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.helpers.clock import legal_today


def _setup(app, world, subscribe):
    from portal.extensions import db
    from services.electoral.models import Election, PollingStation, StreetBureau

    subscribe("electoral", world.a)
    with app.app_context():
        b1 = PollingStation(commune_insee=world.insee_a, number="1", name="Mairie", address="1 rue de la Mairie")
        b2 = PollingStation(commune_insee=world.insee_a, number="2", name="Salle des fêtes", address="Place")
        db.session.add_all([b1, b2])
        db.session.flush()
        db.session.add(StreetBureau(commune_insee=world.insee_a, street_key="rue des vignes",
                                    street_label="Rue des Vignes", bureau=b2))
        db.session.add(Election(commune_insee=world.insee_a, kind="municipal", title="Municipales (fictif)",
                                first_round=legal_today() + dt.timedelta(days=50), lists=["general", "municipal"]))
        db.session.commit()
        return b2.id


def test_secretary_registers_a_voter_and_prints_the_emargement_list(app, world, subscribe, page, sign_in, shot, t,
                                                                     overflow):
    bureau_id = _setup(app, world, subscribe)
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/electoral/")
    assert page.locator("h1").inner_text().startswith("Liste électorale d'Ailleville")
    shot(page, "electoral-index")
    page.get_by_role("link", name=t("Register a voter")).first.click()
    page.locator("#birth_name").fill("Fictif")
    page.locator("#first_names").fill("Camille Jeanne")
    page.locator("#sex").select_option("F")
    page.locator("#birth_date").fill("14/07/1989")
    page.locator("#birth_place").fill("Troyes")
    page.locator("#birth_department").fill("10")
    page.locator("#street_number").fill("12")
    page.locator("#street_type").fill("rue")
    page.locator("#street_name").fill("des Vignes")
    page.locator("#postal_code").fill("10200")
    page.locator("#city").fill("Ailleville")
    expect(page.locator("#proposed-bureau")).to_contain_text("Salle des fêtes")  # proposed by the street table
    shot(page, "electoral-register")
    assert overflow(page) == 0
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    assert "FICTIF Camille Jeanne" in page.locator("h1").inner_text()
    assert "Salle des fêtes" in page.locator("main").inner_text()
    assert t("Registration") in page.locator("main").inner_text()
    shot(page, "electoral-voter")
    page.get_by_role("link", name=t("Polling stations and printing")).click()
    expect(page.locator("h1")).to_have_text(t("Polling stations and printing"))
    shot(page, "electoral-bureaux")
    form = page.locator(f"form[action$='/bureaux/{bureau_id}/emargement.pdf']")
    url = form.get_attribute("action") + "?scrutin=" + form.locator("select").input_value()
    resp = page.request.get(url)
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.body())).pages).split())
    assert "FICTIF" in text and "Camille Jeanne" in text and "Municipales (fictif)" in text and "Page 1/1" in text


def test_secretary_imports_a_file_and_reads_the_calendar(app, world, subscribe, page, sign_in, shot, overflow, t):
    import csv

    from services.electoral.csvio import COLUMNS

    _setup(app, world, subscribe)
    rows = [{c: "" for c in COLUMNS} | {"TypeListe": "LG", "CodeCommune": world.insee_a, "Sexe": "F",
                                        "NomdeNaissance": "FICTIVE", "Prenoms": "Anne", "DateDeNaissance": "01/02/1970",
                                        "NomComNaissance": "Troyes", "DeptNaissance": "10", "NoBureauDeVote": "1"},
            {c: "" for c in COLUMNS} | {"TypeListe": "LG", "CodeCommune": world.insee_a, "Sexe": "X",
                                        "NomdeNaissance": "ERRONE", "Prenoms": "Jean", "DateDeNaissance": "31/02/1970",
                                        "NomComNaissance": "Troyes", "DeptNaissance": "10"}]
    out = io.StringIO(newline="")
    w = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=";")
    w.writeheader()
    w.writerows(rows)
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/electoral/import")
    page.locator("#file").set_input_files({"name": "liste.csv", "mimeType": "text/csv",
                                           "buffer": out.getvalue().encode("cp1252")})
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    main = page.locator("main").inner_text()
    assert "1 ligne(s) refusée(s)" in main and "31/02/1970" in main and "M ou F" in main
    shot(page, "electoral-import-preview")
    assert overflow(page) == 0
    page.get_by_role("link", name=t("Elections")).click()
    page.locator("main a", has_text="Municipales (fictif)").click()
    expect(page.locator("main")).to_contain_text("L. 17 I")  # waits for the page the click opens
    shot(page, "electoral-election-calendar")
