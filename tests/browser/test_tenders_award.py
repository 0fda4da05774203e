"""The whole second half of a consultation in a real browser: a company deposits its bid; after the deadline the mayor
opens the bids, scores them, awards the lot and the candidates are informed. Screenshots: tenders-50-deposit,
tenders-51-register-before-opening, tenders-52-opened, tenders-53-grid, tenders-54-awarded."""
from __future__ import annotations

import datetime as dt

from tests.helpers.clock import legal_wall

from .test_tenders_deposit import _company
from .test_tenders_phone import _published


def test_a_company_deposits_the_commune_opens_scores_and_awards(app, world, subscribe, new_page, shot, t, sign_in,
                                                               overflow, tmp_path, smtp):
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.companies import Company
    from services.tenders.models import Tender
    from tests.services.tenders.conftest import real_pdf

    subscribe("tenders", world.a)
    _published(app, world.a, "2026-070", "Réfection du mur du cimetière", 20)
    with app.app_context():
        tender = db.session.query(Tender).filter_by(reference="2026-070").one()
        tender.criteria = [{"code": "price", "label": "", "weight": 60},
                           {"code": "technical", "label": "", "weight": 40}]
        db.session.commit()
        tid = tender.id
    email, password = "offres@maconnerie.test.example.org", "Pierres-seches-du-cimetiere-70"
    _company(app, email, password)
    offer = tmp_path / "offre.pdf"
    offer.write_bytes(real_pdf("Offre maçonnerie"))

    # 1. The company deposits its bid before the deadline
    page = new_page({"width": 1280, "height": 900})
    page.goto(f"/p/tenders/{tid}")
    page.get_by_role("link", name=t("Deposit a bid")).click()
    page.get_by_label(t("E-mail address")).fill(email)
    page.get_by_label(t("Password")).fill(password)
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_url(f"**/p/tenders/{tid}/depot")
    page.locator("#f-financiere-1").set_input_files(str(offer))  # the one lot, ticked by default
    page.get_by_role("button", name=t("Deposit my bid")).click()
    page.wait_for_selector(".alert-success")
    shot(page, "tenders-50-deposit")

    # a second company deposits too (without a browser), so that there is a rejected candidate
    with app.app_context():
        other = Company(name="Bâtisseurs du Barrois", siret="73282932000074",
                        email="offres@batisseurs.test.example.org", password_hash="x",
                        confirmed_at=dt.datetime(2026, 1, 1))
        db.session.add(other)
        db.session.commit()
        deposits.deposit(db.session.get(Tender, tid), other, [("offre", "offre.pdf", real_pdf("Offre 2"))])
        db.session.commit()

    # 2. Before the deadline the mayor sees the register, sealed
    mayor = new_page({"width": 1366, "height": 768})
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto(f"/s/tenders/{tid}/depots")
    assert mayor.get_by_role("button", name=t("Open the bids")).count() == 0
    shot(mayor, "tenders-51-register-before-opening")

    # 3. The deadline passes; the mayor opens the bids and reads the minutes' link
    with app.app_context():
        tender = db.session.get(Tender, tid)
        tender.reception_deadline = legal_wall() - dt.timedelta(hours=3)
        db.session.commit()
        bids = {b.company.name: b.id for b in deposits.register_of(tender)}
    mayor.goto(f"/s/tenders/{tid}/depots")
    mayor.get_by_role("button", name=t("Open the bids")).click()
    mayor.wait_for_selector(".flashes")
    assert mayor.get_by_role("link", name=t("Minutes of the opening (PDF)")).count() == 1
    shot(mayor, "tenders-52-opened")

    # 4. The grid: prices, points and comments; the ranking appears
    mayor.get_by_role("link", name=t("Analysis of the offers")).click()
    mine, theirs = bids["Charpentes de l'Aube SAS"], bids["Bâtisseurs du Barrois"]
    mayor.locator(f"#price_{mine}").fill("48 200")
    mayor.locator(f"#points_{mine}_technical").fill("34")
    mayor.locator(f"#comment_{mine}_technical").fill("Méthodologie détaillée.")
    mayor.locator(f"#price_{theirs}").fill("51 000")
    mayor.locator(f"#points_{theirs}_technical").fill("28")
    mayor.locator(f"#comment_{theirs}_technical").fill("Planning peu précis.")
    mayor.get_by_role("button", name=t("Save the grid")).click()
    mayor.wait_for_selector(".flashes")
    ranking = mayor.locator("table").first.inner_text()
    assert ranking.index("Charpentes de l'Aube SAS") < ranking.index("Bâtisseurs du Barrois")
    shot(mayor, "tenders-53-grid")
    assert overflow(mayor) == 0

    # 5. The award: a procédure adaptée, no standstill — both companies are told at once
    mayor.get_by_role("button", name=t("Award the lot")).click()
    mayor.wait_for_selector(".alert-success")
    assert mayor.get_by_role("link", name=t("Award notice (PDF)")).count() == 1
    shot(mayor, "tenders-54-awarded")
    from tests.services.tenders.test_documents_public_award import wait_for_mail

    assert "Notification" in wait_for_mail(smtp, email).subject
    assert "retenue" in wait_for_mail(smtp, "offres@batisseurs.test.example.org").subject
    with app.app_context():
        tender = db.session.get(Tender, tid)
        assert tender.status == "awarded" and tender.awards[0].holder_name == "Charpentes de l'Aube SAS"
