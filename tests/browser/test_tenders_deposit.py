"""A company deposits its bid in a real browser, then the mayor reads the register of deposits. Screenshots:
tenders-40-deposit-form, tenders-41-deposit-received, tenders-42-register."""
from __future__ import annotations

import datetime as dt

from .test_tenders_phone import _published


def _company(app, email, password) -> None:
    from portal.extensions import db
    from portal.security import hash_password
    from services.tenders.companies import Company

    with app.app_context():
        db.session.add(Company(name="Charpentes de l'Aube SAS", siret="73282932000074", email=email,
                               password_hash=hash_password(password), confirmed_at=dt.datetime(2026, 1, 1)))
        db.session.commit()


def test_a_company_deposits_its_bid_and_the_mayor_sees_it_in_the_register(app, world, subscribe, new_page, shot,
                                                                         t, sign_in, overflow, tmp_path):
    from portal.extensions import db
    from services.tenders.models import Tender

    subscribe("tenders", world.a)
    _published(app, world.a, "2026-061", "Charpente du préau de l'école", 20)
    with app.app_context():
        tid = db.session.query(Tender).filter_by(reference="2026-061").one().id
    email, password = "offres@charpentes.test.example.org", "Poutres-de-chene-du-preau-61"
    _company(app, email, password)
    offer = tmp_path / "offre.pdf"
    from tests.services.tenders.conftest import real_pdf

    offer.write_bytes(real_pdf("Offre charpente"))

    page = new_page({"width": 390, "height": 844})
    page.goto(f"/p/tenders/{tid}")
    page.get_by_role("link", name=t("Deposit a bid")).click()
    page.get_by_label(t("E-mail address")).fill(email)
    page.get_by_label(t("Password")).fill(password)
    page.get_by_role("button", name=t("Sign in")).click()
    page.wait_for_url(f"**/p/tenders/{tid}/depot")
    page.locator("#f-financiere-1").set_input_files(str(offer))  # the one lot, ticked by default
    shot(page, "tenders-40-deposit-form")
    assert overflow(page) == 0
    page.get_by_role("button", name=t("Deposit my bid")).click()
    page.wait_for_selector(".alert-success")
    shot(page, "tenders-41-deposit-received")
    assert "offre.pdf" in page.locator("main").inner_text()

    mayor = new_page({"width": 1366, "height": 768})
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto(f"/s/tenders/{tid}/recapitulatif")
    mayor.get_by_role("link", name=t("Register of deposits")).click()
    text = mayor.locator("main").inner_text()
    assert "Charpentes de l'Aube SAS" in text and "offre.pdf" in text
    shot(mayor, "tenders-42-register")
