"""The documents library and the fiches juridiques in a real browser: a secretary of Ailleville creates a folder
open to the members of her EPCI, files a deliberation (PDF) and its corrected version; the mayor of Jaucourt, member
of the same EPCI, sees the first page's preview and both versions; the Association des maires writes a fiche, updates
it, and a mayor reads the history of the changes and finds it by searching without accents.
Screenshots: test-artifacts/screenshots/desk-library-*.png and desk-sheet-*.png."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.services.desk.conftest import desk_storage, partners  # noqa: F401 - fixtures of the desk's tests
from tests.services.desk.files import pdf


def test_a_secretary_shares_a_deliberation_and_a_partner_writes_a_sheet(  # noqa: F811 - fixtures imported above
        world, live_server, new_page, shot, t, sign_in, partners, desk_storage, tmp_path):
    first = tmp_path / "Délibération 12 - tarifs de la cantine.pdf"
    first.write_bytes(pdf("Délibération n° 12 : tarifs de la cantine scolaire, année 2027."))
    second = tmp_path / "Délibération 12 rectifiée.pdf"
    second.write_bytes(pdf("Délibération n° 12 rectifiée : tarifs de la cantine scolaire."))

    # 1. The secretary of Ailleville creates a folder for the members of her EPCI and files the deliberation.
    secretary = new_page()
    sign_in(secretary, world.users["secretary_a"].email, world.password)
    secretary.goto("/s/desk/documents")
    secretary.get_by_role("link", name=t("New folder")).click()
    secretary.get_by_label(t("Name of the folder")).fill("Délibérations 2026")
    secretary.get_by_label(t("The members of our EPCI")).check()
    shot(secretary, "desk-library-01-new-folder")
    with secretary.expect_navigation():
        secretary.get_by_role("button", name=t("Save the folder")).click()
    secretary.get_by_label(t("Title"), exact=True).fill("Tarifs de la cantine")
    secretary.get_by_label(t("Kind of document")).select_option("deliberation")
    secretary.get_by_label(t("File"), exact=True).set_input_files(str(first))
    with secretary.expect_navigation():
        secretary.get_by_role("button", name=t("Add the document")).click()
    expect(secretary.locator(".flashes")).to_contain_text(t("The document is added."))
    expect(secretary.locator("img.doc-preview-image")).to_be_visible()
    secretary.get_by_label(t("New version of the file")).set_input_files(str(second))
    secretary.get_by_label(t("What changed"), exact=True).fill("Tarif du repas corrigé")
    with secretary.expect_navigation():
        secretary.get_by_role("button", name=t("Upload the new version")).click()
    expect(secretary.locator("table tbody tr")).to_have_count(2)
    shot(secretary, "desk-library-02-document-two-versions")

    # 2. The mayor of Jaucourt (same EPCI) reads it, previews the first page and downloads the first version.
    mayor_b = new_page()
    sign_in(mayor_b, world.users["mayor_b"].email, world.password)
    mayor_b.goto("/s/desk/documents")
    expect(mayor_b.get_by_role("heading", name="Ailleville")).to_be_visible()
    shot(mayor_b, "desk-library-03-shared-with-jaucourt")
    mayor_b.get_by_role("link", name="Tarifs de la cantine").first.click()
    preview = mayor_b.locator("img.doc-preview-image")
    expect(preview).to_be_visible()
    # Loaded, not only laid out: a broken image is complete with no width, and the wait then fails.
    mayor_b.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert mayor_b.evaluate("(img) => img.naturalWidth", preview.element_handle()) > 100
    with mayor_b.expect_download() as download:
        mayor_b.get_by_role("link", name="Délibération 12 - tarifs de la cantine.pdf").click()
    assert download.value.suggested_filename == "Délibération 12 - tarifs de la cantine.pdf"
    shot(mayor_b, "desk-library-04-preview")

    # 3. The Association des maires writes a fiche, then updates it.
    amf = new_page()
    sign_in(amf, world.users["partner_amf"].email, world.password)
    amf.goto("/s/desk/fiches")
    amf.get_by_role("link", name=t("Write a sheet")).click()
    amf.get_by_label(t("Theme")).select_option("etat_civil")
    amf.get_by_label(t("Title"), exact=True).fill("Mariage : publication des bans")
    amf.get_by_label(t("Text of the fiche")).fill("Les bans sont publiés dix jours avant la célébration.")
    amf.get_by_label(t("Legal references (one a line)")).fill("Code civil, art. 63\nCode civil, art. 64")
    shot(amf, "desk-sheet-01-write")
    with amf.expect_navigation():
        amf.get_by_role("button", name=t("Publish")).click()
    amf.get_by_role("link", name=t("Update the sheet")).click()
    amf.get_by_label(t("Text of the fiche")).fill("Les bans sont publiés dix jours francs avant la célébration.")
    amf.get_by_label(t("What changed (shown in the history)")).fill("Précision : jours francs")
    with amf.expect_navigation():
        amf.get_by_role("button", name=t("Publish")).click()
    expect(amf.locator("article")).to_contain_text("dix jours francs")
    shot(amf, "desk-sheet-02-published")

    # 4. A mayor finds it by searching without accents and reads what changed.
    mayor_a = new_page()
    sign_in(mayor_a, world.users["mayor_a"].email, world.password)
    mayor_a.goto("/s/desk/recherche?q=publication celebrations")
    expect(mayor_a.locator("mark").first).to_be_visible()
    shot(mayor_a, "desk-sheet-03-search")
    mayor_a.get_by_role("link", name="Mariage : publication des bans").click()
    mayor_a.get_by_role("link", name=t("version %(n)d — history of the changes", n=2)).click()
    expect(mayor_a.locator(".sheet-diff ins")).to_contain_text("jours francs")
    expect(mayor_a.locator(".sheet-diff del")).to_contain_text("dix jours avant")
    shot(mayor_a, "desk-sheet-04-history")
