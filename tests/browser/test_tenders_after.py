"""After publication, in a real browser: the mayor of Ailleville publishes a correction notice (new deadline, a
corrected description) that companies see with its history on the public page, then declares the consultation
« sans suite » with its reason; the public page shows the legal mention. Screenshots: tenders-20-* to tenders-24-*."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from playwright.sync_api import expect

from tests.helpers.clock import legal_wall


def published_tender(app, collectivity_id) -> int:
    from portal.extensions import db
    from services.tenders import documents, storage
    from services.tenders.models import Tender, TenderLot

    with app.app_context():
        now = legal_wall().replace(second=0, microsecond=0)
        reception = (now + dt.timedelta(days=25)).replace(hour=12, minute=0)
        t = Tender(collectivity_id=collectivity_id, reference="2026-040", status="published",
                   title="Fourniture de mobilier pour l'école", description="Tables et chaises pour deux classes.",
                   nature="supplies", cpv_code="39000000-2", place="École communale, Ailleville", duration_months=2,
                   single_lot_reason="indivisible", amount_ht=Decimal("35000"), launch_date=now.date(),
                   procedure="mapa", publicity="voluntary", media=["portal", "local_press"],
                   questions_deadline=reception - dt.timedelta(days=6), reception_deadline=reception,
                   opening_date=reception.date() + dt.timedelta(days=1),
                   notification_date=reception.date() + dt.timedelta(days=30),
                   criteria=[{"code": "price", "label": "", "weight": 70}, {"code": "delay", "label": "", "weight": 30}],
                   buyer_siret="21100002300005", contact_email="mairie@ailleville.test.example.org",
                   published_at=now)
        t.lots.append(TenderLot(number=1, title="Mobilier", amount_ht=Decimal("35000")))
        db.session.add(t)
        db.session.flush()
        storage.replace_dce(db.session, t, documents.dce_zip(t))
        db.session.commit()
        return t.id


def test_mayor_corrects_then_discontinues_a_consultation(app, world, subscribe, live_server, new_page, shot, t,
                                                         sign_in, overflow, sticking_out):
    subscribe("tenders", world.a)
    tid = published_tender(app, world.a)
    with app.app_context():
        from portal.extensions import db
        from services.tenders.models import Tender

        old_deadline = db.session.get(Tender, tid).reception_deadline
    new_deadline = old_deadline + dt.timedelta(days=7)

    mayor = new_page({"width": 1366, "height": 768})
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto(f"/s/tenders/{tid}/recapitulatif")
    mayor.get_by_text(t("Publish a correction notice (avis rectificatif)"), exact=True).click()
    mayor.get_by_label(t("What the correction is about (published)")).fill(
        "Les chaises doivent être empilables ; la date limite est reportée d'une semaine.")
    mayor.locator("#c-description").fill("Tables et chaises empilables pour deux classes.")
    mayor.locator("#c-reception").fill(new_deadline.strftime("%Y-%m-%dT%H:%M"))
    shot(mayor, "tenders-20-correction-form")
    mayor.get_by_role("button", name=t("Publish the correction notice")).click()
    expect(mayor.locator(".flashes")).to_contain_text(t(
        "The correction notice is published: the public page shows it with the history of the changes, and the "
        "documents carry the new values. If the notice was published in the BOAMP or a JAL, publish the correction "
        "there too."))
    expect(mayor.locator(".correction")).to_contain_text(
        t("Correction notice no. %(n)d of %(d)s", n=1, d="@@").split("@@")[0].strip())

    company = new_page()
    company.goto(f"/p/tenders/{tid}")
    history = company.locator(".correction").first
    expect(history).to_contain_text("empilables")
    expect(history).to_contain_text(old_deadline.strftime("%d/%m/%Y %H:%M"))
    expect(history).to_contain_text(new_deadline.strftime("%d/%m/%Y %H:%M"))
    expect(company.locator(".lead")).to_contain_text(new_deadline.strftime("%d/%m/%Y"))
    assert overflow(company) == 0, sticking_out(company)
    shot(company, "tenders-21-public-corrected")

    # The commune gives up: the budget was not voted
    mayor.goto(f"/s/tenders/{tid}/recapitulatif")
    mayor.get_by_text(t("End the procedure without a contract (unsuccessful or discontinued)")).click()
    expect(mayor.locator("#er-no_bid")).to_be_disabled()  # unsuccessful only after the deadline
    mayor.locator("#er-budget").check()
    mayor.get_by_label(t("Explanation (published; required for a discontinued procedure)")).fill(
        "Le conseil municipal n'a pas inscrit les crédits au budget primitif.")
    shot(mayor, "tenders-22-end-form")
    mayor.get_by_role("button", name=t("Publish the decision")).click()
    expect(mayor.locator(".badge.status-discontinued")).to_have_text(t("Discontinued"))
    shot(mayor, "tenders-23-summary-discontinued")

    company.reload()
    expect(company.locator(".ended-notice")).to_contain_text("déclarée sans suite")
    expect(company.locator(".ended-notice")).to_contain_text("R2185-1")
    expect(company.locator("form textarea#question")).to_have_count(0)
    with company.expect_download() as dl:
        company.get_by_role("link", name="Décision de déclaration sans suite (PDF)").click()
    assert dl.value.suggested_filename.endswith("-fin-de-procedure.pdf")
    company.set_viewport_size({"width": 390, "height": 844})
    assert overflow(company) == 0, sticking_out(company)
    shot(company, "tenders-24-public-discontinued-phone")
