"""Browser walk of the department's land-registry import page: the Aube's administrator opens it from the menu,
imports a (synthetic) plan of Ailleville through the form, reads the report, then sends a truncated file and reads
the French error; screenshots of both."""
from __future__ import annotations

import gzip
import json

from playwright.sync_api import expect

from tests.services.cadastre.conftest import square_parcels


def test_department_admin_imports_a_plan_from_the_page(app, world, page, sign_in, shot, overflow, tmp_path):
    insee = world.insee_a
    good = tmp_path / f"cadastre-{insee}-parcelles.json.gz"
    good.write_bytes(gzip.compress(json.dumps(square_parcels(insee, 4.6733, 48.2592, n=3)).encode()))
    sign_in(page, world.users["dept_admin"].email, world.password)
    page.goto("/")
    page.get_by_role("link", name="Imports du cadastre").first.click()
    expect(page.locator("h1")).to_have_text("Imports du cadastre")
    form = page.locator("form[action$='/plans']")
    form.get_by_label("Commune (code INSEE ou nom)").fill("Ailleville (10002)")
    form.get_by_label("Millésime (AAAA-MM, facultatif)").fill("2024-01")
    form.get_by_label("Fichiers").set_input_files(str(good))
    shot(page, "cadastre-imports-form")
    with page.expect_navigation():
        form.get_by_role("button", name="Importer le plan").click()
    main = page.locator("main")
    expect(main).to_contain_text("Import terminé.")
    expect(main).to_contain_text("premier millésime de cette commune")
    expect(page.locator("dl.facts").last).to_contain_text("Parcelles3")
    shot(page, "cadastre-imports-report")
    assert overflow(page) == 0
    # A truncated file: refused with the French message, nothing imported.
    bad = tmp_path / f"cadastre-{insee}-parcelles-2.json.gz"
    bad.write_bytes(good.read_bytes()[:40])
    page.get_by_role("link", name="Retour aux imports").click()
    form = page.locator("form[action$='/plans']")
    form.get_by_label("Commune (code INSEE ou nom)").fill("10002")
    form.get_by_label("Millésime (AAAA-MM, facultatif)").fill("2025-01")
    form.get_by_label("Fichiers").set_input_files(str(bad))
    with page.expect_navigation():
        form.get_by_role("button", name="Importer le plan").click()
    expect(page.get_by_role("alert")).to_contain_text("Import refusé : 1 problème. Rien n'a été modifié.")
    expect(page.get_by_role("alert")).to_contain_text("le fichier gzip est endommagé ou tronqué")
    shot(page, "cadastre-imports-refused")
    page.get_by_role("link", name="Retour aux imports").click()
    rows = page.locator("table").last
    expect(rows).to_contain_text("Ailleville (10002)")
    expect(rows).to_contain_text("2024-01")
    expect(rows).not_to_contain_text("2025-01")
    shot(page, "cadastre-imports-history")
