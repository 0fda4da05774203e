"""Browser walk of a large print run: the émargement list of a bureau above the limit is prepared in the background,
the job page shows « Prêt » and the download link. Fictitious people."""
from __future__ import annotations

import datetime as dt
import io

from playwright.sync_api import expect
from pypdf import PdfReader


def test_secretary_prepares_a_large_emargement_list_in_the_background(app, world, subscribe, page, sign_in, shot, t,
                                                                       overflow, tmp_path):
    from portal.extensions import db
    from services.electoral.models import Movement, PollingStation, Voter

    subscribe("electoral", world.a)
    with app.app_context():
        b = PollingStation(commune_insee=world.insee_a, number="1", name="Mairie", address="1 rue de la Mairie")
        db.session.add(b)
        db.session.flush()
        for i in range(6):
            v = Voter(commune_insee=world.insee_a, birth_name=f"FICTIF{i}", first_names="Jean", sex="M",
                      birth_date=dt.date(1970, 1, 1 + i), bureau_id=b.id, status="registered")
            v.refresh_search()
            db.session.add(v)
            db.session.add(Movement(voter=v, commune_insee=world.insee_a, kind="registration", reason="voluntary",
                                    effective_on=dt.date(2020, 1, 1), author="test"))
        db.session.commit()
        bureau_id = b.id
    app.config.update(ELECTORAL_PRINT_INLINE_VOTERS=3, ELECTORAL_PRINT_DIR=str(tmp_path))
    try:
        sign_in(page, world.users["secretary_a"].email, world.password)
        page.goto(f"/s/electoral/bureaux/{bureau_id}")
        with page.expect_navigation():
            page.locator(f"form[action$='/bureaux/{bureau_id}/emargement.pdf'] [type=submit]").click()
        expect(page.locator("h1")).to_have_text(t("Print in the background"))
        assert "compte 6 électeurs" in page.locator("main").inner_text()
        shot(page, "electoral-print-offer")
        with page.expect_navigation():
            page.get_by_role("button", name=t("Prepare the document")).click()
        expect(page.locator("main")).to_contain_text(t("Ready"))
        assert overflow(page) == 0
        shot(page, "electoral-print-job")
        link = page.get_by_role("link", name=t("Download %(name)s", name="emargement-bureau-1.pdf"))
        resp = page.request.get(link.get_attribute("href"))
        assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.body())).pages)
        assert "FICTIF5" in text and "inscrits dans le bureau : 6" in text.replace("\xa0", " ")
        page.get_by_role("link", name=t("All print runs")).click()
        expect(page.locator("h1")).to_have_text(t("Print runs"))
        shot(page, "electoral-print-runs")
    finally:
        app.config.pop("ELECTORAL_PRINT_INLINE_VOTERS", None)
        app.config.pop("ELECTORAL_PRINT_DIR", None)
