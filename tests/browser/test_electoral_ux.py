"""What a secretary meets on the electoral pages: the removal form behind a button, one sub-menu, the print buttons
of the bureaux page fully visible, the postcode and town prefilled, French typography. Fictitious people."""
from __future__ import annotations

import datetime as dt

from tests.helpers.clock import legal_today
from tests.services.electoral.fixtures import add_voter  # noqa: F401 - fixture


def _setup(app, world, subscribe, add_voter):
    from portal.extensions import db
    from services.electoral.models import Election, PollingStation

    subscribe("electoral", world.a)
    with app.app_context():
        b1 = PollingStation(commune_insee=world.insee_a, number="1", name="Mairie d'Ailleville",
                            address="1 rue de la Mairie, 10200 Ailleville")
        b2 = PollingStation(commune_insee=world.insee_a, number="2", name="Salle des fêtes de la commune",
                            address="Place de l'Église, 10200 Ailleville")
        db.session.add_all([b1, b2])
        db.session.add(Election(commune_insee=world.insee_a, kind="municipal",
                                title="Élections municipales et communautaires (fictif)",
                                first_round=legal_today() + dt.timedelta(days=50), lists=["general", "municipal"]))
        db.session.commit()
        b1_id = b1.id
    voter = add_voter(world.insee_a, "FICTIVE", "Léonie", "1981-04-02", b1_id, street_name="Grande Rue")
    return voter


def test_every_voter_page_hides_the_removal_form_behind_a_button(app, world, subscribe, add_voter, page, sign_in,
                                                                  shot, t):
    voter = _setup(app, world, subscribe, add_voter)
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto(f"/s/electoral/electeurs/{voter}")
    shot(page, "electoral-voter-page")
    reason = page.locator("#reason")
    assert not reason.is_visible()  # behind « Radier de la liste… »
    page.get_by_text(t("Remove from the roll…")).click()
    assert reason.is_visible() and reason.input_value() == ""  # no reason preselected (« Décès » was)
    shot(page, "electoral-voter-page-removal-open")
    # one sub-menu: the service's tabs, no second navigation landmark with the same links
    assert page.locator("nav.service-nav").count() == 0
    assert page.locator("main nav").count() == 1
    assert page.get_by_role("link", name=t("Register a voter")).count() == 1


def test_bureaux_page_shows_the_voter_cards_button_whole(app, world, subscribe, add_voter, page, sign_in, shot, t,
                                                          overflow):
    _setup(app, world, subscribe, add_voter)
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/s/electoral/bureaux")
    shot(page, "electoral-bureaux-page")
    assert overflow(page) == 0
    wrap = page.locator(".table-wrap").first.bounding_box()
    for button in page.get_by_role("link", name=t("Voter cards (PDF)")).all():
        box = button.bounding_box()
        assert box["x"] >= wrap["x"] and box["x"] + box["width"] <= wrap["x"] + wrap["width"] + 0.5
    assert page.locator(".table-wrap").first.evaluate("e => e.scrollWidth <= e.clientWidth")


def test_register_form_prefills_the_commune_s_single_postcode(app, world, subscribe, add_voter, page, sign_in):
    from portal.extensions import db
    from portal.models import Collectivity

    _setup(app, world, subscribe, add_voter)
    with app.app_context():
        commune = db.session.get(Collectivity, world.a)
        commune.postal_codes = "10200"
        db.session.commit()
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/electoral/inscrire")
    assert page.locator("#postal_code").input_value() == "10200"
    assert page.locator("#city").input_value().upper() == "AILLEVILLE"


def test_electoral_pages_use_french_typography(app, world, subscribe, add_voter, page, sign_in, t):
    _setup(app, world, subscribe, add_voter)
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/electoral/")
    assert page.locator("h1").inner_text() == "Liste électorale d'Ailleville"
    options = page.locator("#bureau option").all_inner_texts()
    assert "Tous les bureaux de vote" in options and "Toutes" not in options
