"""A secretary of Ailleville goes through the whole tenders wizard in a real browser for a church roof repair of
85 000 € HT, publishes it (the mayor granted her the right), then a company sees it on the public page and downloads
the DCE zip. Screenshots of each step go to test-artifacts/screenshots/tenders-*.png."""
from __future__ import annotations

import io
import re
import zipfile

from playwright.sync_api import expect


def test_secretary_drafts_and_publishes_a_roof_repair(app, world, subscribe, live_server, new_page, shot, t,
                                                      sign_in, overflow, sticking_out):
    from portal.extensions import db
    from portal.models import Membership

    subscribe("tenders", world.a)
    with app.app_context():
        membership_id = db.session.query(Membership.id).filter_by(user_id=world.users["secretary_a"].id).scalar()

    # The mayor grants « publish » to the secretary on the member page (a grantable permission of the service)
    mayor = new_page()
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto(f"/mairie/membres/{membership_id}")
    mayor.get_by_label(t("Public tenders: publish a consultation and record its award")).check()
    with mayor.expect_navigation():
        mayor.locator("main form [type=submit]").first.click()
    with app.app_context():
        assert "tenders.publish" in db.session.get(Membership, membership_id).extra_permissions

    page = new_page({"width": 1366, "height": 768})
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.locator(".tile", has_text=t("Public tenders")).get_by_role("link", name=t("Public tenders")).click()
    expect(page.locator("main h1")).to_have_text(t("Public tenders"))
    page.get_by_role("button", name=t("Start a new consultation")).click()

    # 1. Need — and the autosave keeps typing when the page is reloaded
    expect(page.locator("h2").first).to_contain_text(t("1. What do you need?"))
    page.get_by_label(t("Object of the contract")).fill("Réfection de la toiture de l'église")
    status = page.locator(".autosave-status")
    expect(status).to_contain_text(t("Saved automatically at"), timeout=8000)
    page.reload()
    expect(page.get_by_label(t("Object of the contract"))).to_have_value("Réfection de la toiture de l'église")
    page.get_by_label(t("Description")).fill("Remplacement des tuiles et reprise de la charpente du clocher.")
    page.locator("#nature-works").check()
    page.locator("#cpv_code").fill("45261000")
    page.get_by_label(t("Place of execution")).fill("Église Saint-Martin, Ailleville")
    page.get_by_label(t("Duration (months)")).fill("3")
    page.locator("#slr-indivisible").check()
    shot(page, "tenders-01-need")
    page.get_by_role("button", name=re.compile(t("Next step"))).click()

    # 2. Amount
    expect(page.locator("h2").first).to_contain_text(t("2. Estimated amount excluding tax"))
    page.locator("#lot_1").fill("85 000")
    page.get_by_role("button", name=re.compile(t("Next step"))).click()

    # 3. Procedure: below the 100 000 € works dispensation (R2122-8, décret 2025-1386); she publishes anyway
    expect(page.locator(".decision")).to_contain_text("R2122-8")
    expect(page.locator(".decision")).to_contain_text("100\u202f000")
    page.locator("#voluntary-yes").check()
    shot(page, "tenders-03-procedure")
    page.get_by_role("button", name=re.compile(t("Next step"))).click()

    # 4. Calendar proposed by the portal
    page.get_by_role("button", name=t("Propose a calendar and the media for me")).click()
    expect(page.get_by_label(t("Deadline for bids"))).not_to_have_value("")
    shot(page, "tenders-04-calendar")
    page.get_by_role("button", name=re.compile(t("Next step"))).click()

    # 5. Criteria: a wrong total is refused at the step, then corrected
    page.get_by_label(t("Price") + " (%)").fill("60")
    page.get_by_label(t("Technical value") + " (%)").fill("30")
    page.get_by_role("button", name=re.compile(t("Next step"))).click()
    expect(page.locator(".error-text")).to_contain_text("90")
    shot(page, "tenders-05-criteria-error")
    page.get_by_label(t("Technical value") + " (%)").fill("40")
    page.get_by_role("button", name=re.compile(t("Next step"))).click()

    # 6. Documents
    page.get_by_label(t("SIRET number of the buyer")).fill("21100002300005")
    page.get_by_label(t("E-mail address for companies")).fill("mairie@ailleville.test.example.org")
    with page.expect_download() as dl:
        page.get_by_role("link", name="PDF").first.click()
    assert dl.value.suggested_filename.endswith("-RC.pdf")
    shot(page, "tenders-06-documents")
    page.get_by_role("button", name=t("See the summary")).click()

    # Summary and publication
    expect(page.locator(".alert-success")).to_contain_text(t("Everything is ready to publish."))
    shot(page, "tenders-07-summary")
    assert overflow(page) == 0
    page.get_by_label(t("I confirm the publication: once published, the consultation can only be changed through a "
                        "correction notice.")).check()
    page.get_by_role("button", name=t("Publish the consultation")).click()
    expect(page.locator(".flashes")).to_contain_text(t("The consultation is published on the public page."))

    # A company, without an account, finds it and downloads the DCE
    company = new_page()
    company.goto("/p/tenders/")
    link = company.get_by_role("link", name="Réfection de la toiture de l'église")
    expect(link).to_be_visible()
    expect(company.locator(".countdown").first).to_contain_text(t("days"))
    shot(company, "tenders-08-public-list")
    link.click()
    with company.expect_download() as dl:
        company.get_by_role("link", name=t("Download the consultation documents (DCE, zip)")).click()
    data = open(dl.value.path(), "rb").read()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert any(n.endswith("-RC.pdf") for n in names) and any(n.endswith(".docx") for n in names)
    shot(company, "tenders-09-public-detail")

    # On a phone, nothing sticks out of the screen (public page and a wizard step)
    company.set_viewport_size({"width": 390, "height": 844})
    company.reload()
    assert overflow(company) == 0
    shot(company, "tenders-10-public-phone")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url.split("/recapitulatif")[0] + "/etape/1")
    assert overflow(page) == 0, sticking_out(page)
    shot(page, "tenders-11-step1-phone")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/s/tenders/seuils")
    expect(page.locator("main h1")).to_have_text(t("Thresholds of public procurement"))
    assert overflow(page) == 0, sticking_out(page)
    shot(page, "tenders-12-thresholds")
