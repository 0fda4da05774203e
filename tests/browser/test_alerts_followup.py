"""Browser walk: the mayor of Ailleville follows a flood alert with an update, then announces its end (CAP Update and
Cancel); residents see the chain on the public page; the department's page of the service counts the communes'
subscribers and unreachable addresses and lets the administrator set an SMS allowance."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.services.alerts.conftest import SAFETY, add_subscriber, alerts_world  # noqa: F401 - fixtures


def test_mayor_updates_then_ends_an_alert_and_the_department_sets_an_allowance(app, world, alerts_world, smtp,
                                                                               page, sign_in, shot, overflow,
                                                                               new_page):
    safety = alerts_world[world.insee_a][SAFETY]
    add_subscriber(app, world.insee_a, [safety], email="riverain@example.org")
    page.on("dialog", lambda d: d.accept())
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, world.users["mayor_a"].email, world.password)
    page.goto("/s/alerts/alertes/nouvelle")
    page.locator("#title").fill("Crue de l'Aube")
    page.locator("#body").fill("Montée des eaux cette nuit : n'allez pas dans les caves.")
    page.locator("#severity").select_option("severe")
    page.get_by_label("Courriel", exact=True).check()
    page.locator(f"input[name=lists][value='{safety}']").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("link", name="Envoyer une mise à jour").click()
    expect(page.locator("h1")).to_have_text("Mise à jour d'une alerte")
    expect(page.locator("#title")).to_have_value("Mise à jour\u00a0: Crue de l'Aube")
    expect(page.locator(f"input[name=lists][value='{safety}']")).to_be_checked()
    page.locator("#body").fill("Le pic de crue est attendu vers 3 h.")
    shot(page, "alerts-compose-update")
    assert overflow(page) == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer", exact=True).click()
    expect(page.locator("main")).to_contain_text("Ce message met à jour l'alerte")
    page.get_by_role("link", name="Crue de l'Aube", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("link", name="Annoncer la fin de l'alerte").click()
    expect(page.locator("h1")).to_have_text("Fin d'une alerte")
    page.locator("#body").fill("La décrue a commencé : l'alerte est levée.")
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer", exact=True).click()
    page.get_by_role("link", name="Crue de l'Aube", exact=True).click()
    expect(page.locator("main")).to_contain_text("Fin annoncée par")
    expect(page.get_by_role("link", name="Envoyer une mise à jour")).to_have_count(0)
    shot(page, "alerts-detail-ended")
    assert len([m for m in smtp.messages if m.to == ["riverain@example.org"]]) == 3
    assert not errors, errors
    # The residents' public page of the first alert.
    resident = new_page(viewport={"width": 390, "height": 800})
    resident.goto(f"/p/alerts/{world.insee_a}/alertes")
    resident.get_by_role("link", name="Crue de l'Aube", exact=True).click()
    expect(resident.locator("main")).to_contain_text("Cette alerte est terminée")
    shot(resident, "alerts-public-ended-phone")
    assert overflow(resident) == 0
    # The department's page of the service.
    admin = new_page()
    sign_in(admin, world.users["dept_admin"].email, world.password)
    admin.goto("/")
    admin.get_by_role("link", name="Alerte citoyen", exact=True).first.click()
    expect(admin.locator("h1")).to_contain_text("communes")
    admin.locator(f"#quota-{world.insee_a}").fill("500")
    with admin.expect_navigation():
        admin.locator(f"#quota-{world.insee_a}").locator("xpath=..").get_by_role("button").click()
    expect(admin.locator("main")).to_contain_text("500")
    shot(admin, "alerts-department")
    assert overflow(admin) == 0
