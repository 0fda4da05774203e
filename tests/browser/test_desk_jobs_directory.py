"""The desk's public side in a real browser: the centre de gestion posts a job offer, a secretary of another commune
reads it in the portal, a resident finds it on the public pages from the portal's public home page; the mayor fills
the mairie's directory entry and a resident reads the commune's page; a secretary registers to a workshop; the
« Aide » link opens the guide's section of the page. axe checks every page (tests/browser/conftest.py).

The screenshots of the user guide are taken here, into a temporary folder: a test run never changes the committed
images of services/desk/static/desk/guide/. To refresh them after changing a page, run this file with
UPDATE_GUIDE_SHOTS=1 and commit the PNGs. Other screenshots go to test-artifacts/screenshots/desk-public-*.png."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers.clock import legal_today
from tests.services.desk.conftest import partners  # noqa: F401 - fixture of the desk's tests

GUIDE_SHOTS = Path(__file__).resolve().parents[2] / "services" / "desk" / "static" / "desk" / "guide"
OFFER = "Secrétaire de mairie itinérant"


@pytest.fixture(scope="module")
def guide_shot(tmp_path_factory):
    """``guide_shot(page, name)``: a screenshot for the user guide (the viewport: what a secretary sees first), into
    a temporary folder — into the guide's committed folder only when UPDATE_GUIDE_SHOTS=1 asks for it."""
    folder = GUIDE_SHOTS if os.environ.get("UPDATE_GUIDE_SHOTS") == "1" else tmp_path_factory.mktemp("guide")

    def _shot(page, name: str) -> None:
        page.screenshot(path=str(folder / name))

    return _shot


def test_cdg_posts_an_offer_secretary_and_resident_read_it(world, live_server, new_page, shot, t, sign_in,
                                                          overflow, partners, guide_shot):  # noqa: F811
    closes = legal_today() + dt.timedelta(days=21)
    # 1. The centre de gestion publishes a part-time offer in Jaucourt, public.
    cdg = new_page()
    sign_in(cdg, world.users["partner_cdg"].email, world.password)
    cdg.goto("/s/desk/emplois")
    cdg.get_by_role("link", name=t("Publish a job offer")).click()
    cdg.get_by_label(t("Job title")).fill(OFFER)
    cdg.get_by_label(t("Grade")).fill("Adjoint administratif territorial")
    cdg.get_by_label(t("Category B")).check()
    cdg.get_by_label(t("Part time"), exact=True).check()
    cdg.get_by_label(t("Hours a week (part time)")).fill("17.5")
    cdg.evaluate("window.scrollTo(0, 0)")
    guide_shot(cdg, "emplois-formulaire.png")
    cdg.get_by_label(t("Commune of the job (INSEE code)")).fill(world.insee_b)
    cdg.get_by_label(t("Closing date")).fill(closes.isoformat())
    cdg.get_by_label(t("Description of the post")).fill(
        "Accueil, état civil et urbanisme, partagé entre deux mairies.<script>alert('x')</script>")
    cdg.get_by_label(t("How to apply (contact)")).fill("Lettre et CV au centre de gestion, service emploi.")
    expect(cdg.get_by_label(t("Addressed to"))).to_have_value("public")
    with cdg.expect_navigation():
        cdg.get_by_role("button", name=t("Publish the offer")).click()
    expect(cdg.locator(".flashes")).to_contain_text(t("The offer is published."))
    expect(cdg.locator("main h1")).to_have_text(OFFER)
    shot(cdg, "desk-public-01-offer-published")

    # 2. A secretary of Ailleville finds it in the portal.
    secretary = new_page()
    sign_in(secretary, world.users["secretary_a"].email, world.password)
    secretary.goto("/s/desk/")
    secretary.get_by_role("navigation", name=t("Pages of the service %(name)s", name=t("Information desk"))) \
        .get_by_role("link", name=t("Job offers")).click()
    secretary.get_by_role("link", name=OFFER).click()
    expect(secretary.locator("main")).to_contain_text("Jaucourt")
    expect(secretary.locator("main")).to_contain_text("17,5")
    assert secretary.locator("main script").count() == 0
    shot(secretary, "desk-public-02-secretary-reads")
    # The « Aide » link opens the guide at the job offers' section, with its screenshots.
    secretary.get_by_role("link", name="Aide", exact=True).click()
    expect(secretary).to_have_url(f"{live_server.url}/p/desk/aide#emplois")
    expect(secretary.locator("#emplois h2")).to_have_text("La bourse de l'emploi")

    # 3. A resident, without an account, from the portal's public home page.
    resident = new_page()
    resident.goto("/")
    expect(resident.get_by_role("link", name=t("Sign in", "page title")).first).to_be_visible()
    guide_shot(resident, "accueil-public.png")
    resident.get_by_role("link", name=t("Job offers"), exact=True).click()
    resident.get_by_role("link", name=OFFER).click()
    expect(resident.locator("main")).to_contain_text(t("Search this offer on « Choisir le service public », the "
                                                       "national job site"))
    guide_shot(resident, "emplois-public.png")
    assert overflow(resident) == 0

    # 4. The mayor of Ailleville fills the mairie's entry; a resident finds the commune's page.
    mayor = new_page()
    sign_in(mayor, world.users["mayor_a"].email, world.password)
    mayor.goto("/s/desk/annuaire")
    mayor.get_by_role("link", name=t("Edit our entry")).click()
    mayor.get_by_label(t("Postal address of the mairie")).fill("1 place de la Mairie\n10200 Ailleville")
    mayor.get_by_label(t("Opening hours")).fill("Lundi : 9 h – 12 h\nJeudi : 14 h – 18 h")
    mayor.get_by_label(t("Phone")).fill("03 25 27 00 00")
    mayor.get_by_label(t("Latitude of the mairie")).fill("48.2544")
    mayor.get_by_label(t("Longitude of the mairie")).fill("4.6729")
    with mayor.expect_navigation():
        mayor.get_by_role("button", name=t("Save the directory entry")).click()
    expect(mayor.locator(".flashes")).to_contain_text(t("The directory entry is saved."))
    mayor.get_by_label(t("First name and last name")).fill("Jeanne Durand")
    mayor.get_by_label(t("Office")).select_option("mayor")
    mayor.locator("#published").check()
    with mayor.expect_navigation():
        mayor.get_by_role("button", name=t("Add"), exact=True).click()
    expect(mayor.locator("table")).to_contain_text("Jeanne Durand")
    guide_shot(mayor, "annuaire-fiche.png")
    resident.goto("/")
    resident.get_by_label(t("Find your commune")).fill("ailleville")
    with resident.expect_navigation():
        resident.get_by_role("button", name=t("Search")).click()
    resident.get_by_role("link", name="Ailleville", exact=True).click()
    expect(resident.locator("main")).to_contain_text("Jeudi : 14 h – 18 h")
    expect(resident.locator("main")).to_contain_text("Jeanne Durand")
    expect(resident.locator("#directory-map.leaflet-container")).to_be_visible()
    guide_shot(resident, "annuaire-public.png")
    shot(resident, "desk-public-03-commune-page")
    assert overflow(resident) == 0


def test_a_secretary_registers_to_a_workshop(world, live_server, new_page, shot, t, sign_in, guide_shot):
    start = dt.datetime.combine(legal_today() + dt.timedelta(days=7), dt.time(9, 30))
    admin = new_page()
    sign_in(admin, world.users["dept_admin"].email, world.password)
    admin.goto("/s/desk/agenda/nouveau")
    admin.get_by_label(t("Title")).fill("Présentation du service Actes")
    admin.get_by_label(t("Kind")).select_option("presentation")
    admin.get_by_label(t("Starts")).fill(start.strftime("%Y-%m-%dT%H:%M"))
    admin.get_by_label(t("Ends")).fill((start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    admin.get_by_label(t("Place"), exact=True).fill("Hôtel du département, Troyes — salle 2")
    admin.get_by_label(t("Seats (empty: no limit)")).fill("25")
    admin.get_by_label(t("Programme")).fill("Déposer un acte, le transmettre, suivre l'accusé de réception.")
    with admin.expect_navigation():
        admin.get_by_role("button", name=t("Publish the event")).click()
    expect(admin.locator(".flashes")).to_contain_text(t("The event is published."))
    secretary = new_page()
    sign_in(secretary, world.users["secretary_a"].email, world.password)
    secretary.goto("/s/desk/")
    guide_shot(secretary, "actualites.png")
    secretary.goto("/s/desk/agenda")
    secretary.get_by_role("link", name="Présentation du service Actes").click()
    with secretary.expect_navigation():
        secretary.get_by_role("button", name=t("Register")).click()
    expect(secretary.locator(".flashes")).to_contain_text(t("You are registered. A reminder will come by e-mail the "
                                                            "day before."))
    expect(secretary.locator("main")).to_contain_text(t("%(taken)d taken out of %(seats)d", taken=1, seats=25))
    guide_shot(secretary, "agenda-evenement.png")
    admin.reload()
    expect(admin.locator("table")).to_contain_text("Ailleville")
    shot(admin, "desk-public-04-registered")
