"""The portal's map builder in Chromium: the alerts zone map shows the configured base layer (IGN Plan, served here
by a local stand-in) with its attribution, and the CSP lets its tiles in."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.services.alerts.conftest import alerts_world  # noqa: F401 - fixture: Ailleville subscribes to alerts


def test_the_zone_map_draws_the_ign_plan_with_its_attribution(app, world, alerts_world, page, sign_in, shot,
                                                                basemap_tile, live_server):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/alerts/alertes/nouvelle")
    page.wait_for_function("() => window.alertsZoneMap && window.alertsZoneMap.getZoom() > 0")
    expect(page.locator("#zone-map .leaflet-control-attribution")).to_have_text("© IGN – Plan IGN")
    expect(page.locator("#zone-map .leaflet-control-scale")).to_be_visible()
    page.wait_for_function("() => document.querySelectorAll('#zone-map img.leaflet-tile-loaded').length > 0")
    assert any("GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2" in url and "TILEMATRIXSET=PM" in url
               for url in basemap_tile.requests)
    page.locator("#zone-map").scroll_into_view_if_needed()
    shot(page, "maps-alerts-zone-ign-plan")
    assert not errors, errors
