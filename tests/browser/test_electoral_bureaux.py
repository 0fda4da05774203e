"""Browser walk of the polling stations: the secretary opens a bureau, places it by clicking on the map (folium
document in an iframe), saves, sees it on the map of the bureaux; deleting a bureau with voters is refused in French."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect


def test_secretary_locates_a_bureau_on_the_map_and_cannot_delete_one_with_voters(app, world, subscribe, page, sign_in,
                                                                                shot, t, overflow):
    from portal.extensions import db
    from services.electoral.models import Movement, PollingStation, Voter

    subscribe("electoral", world.a)
    with app.app_context():
        b1 = PollingStation(commune_insee=world.insee_a, number="1", name="Mairie", address="1 rue de la Mairie",
                            latitude=48.2466, longitude=4.6912)
        b2 = PollingStation(commune_insee=world.insee_a, number="2", name="Salle des fêtes", address="Place")
        db.session.add_all([b1, b2])
        db.session.flush()
        v = Voter(commune_insee=world.insee_a, birth_name="FICTIF", first_names="Jean", sex="M",
                  birth_date=dt.date(1970, 1, 1), bureau_id=b1.id, status="registered")
        v.refresh_search()
        db.session.add(v)
        db.session.add(Movement(voter=v, commune_insee=world.insee_a, kind="registration", reason="voluntary",
                                effective_on=dt.date(2020, 1, 1), author="test"))
        db.session.commit()
        b1_id, b2_id = b1.id, b2.id
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/electoral/bureaux")
    frame = page.frame_locator("iframe[title='%s']" % t("Map of the polling stations"))
    expect(frame.locator(".leaflet-tooltip", has_text="Mairie")).to_be_visible()
    page.locator("main a", has_text="Salle des fêtes").click()
    expect(page.locator("h1")).to_contain_text("Salle des fêtes")
    assert t("Not located yet") in page.locator("main").inner_text()
    assert page.locator("#b-latitude").input_value() == ""
    map_frame = page.frame_locator("#bureau-map")
    container = map_frame.locator(".portal-map")
    expect(container).to_be_visible()
    container.click(position={"x": 200, "y": 120})
    expect(page.locator("#b-latitude")).not_to_have_value("")
    lat, lon = float(page.locator("#b-latitude").input_value()), float(page.locator("#b-longitude").input_value())
    assert 41 < lat < 51.5 and -5.5 < lon < 10
    shot(page, "electoral-bureau-pick")
    assert overflow(page) == 0
    with page.expect_navigation():
        page.locator("form[data-location-form] [type=submit]").click()
    assert f"{lat:.6f}, {lon:.6f}" in page.locator("main").inner_text()
    with app.app_context():
        b = db.session.get(PollingStation, b2_id)
        assert round(b.latitude, 6) == lat and round(b.longitude, 6) == lon
    expect(page.frame_locator("#bureau-map").locator(".leaflet-tooltip", has_text="Salle des fêtes")).to_be_visible()
    shot(page, "electoral-bureau")
    page.goto(f"/s/electoral/bureaux/{b1_id}")
    with page.expect_navigation():
        page.locator("main form[action$='/supprimer'] [type=submit]").click()
    expect(page.locator("body")).to_contain_text("ne peut pas être supprimé")
    shot(page, "electoral-bureau-delete-refused")
    with app.app_context():
        assert db.session.get(PollingStation, b1_id) is not None
