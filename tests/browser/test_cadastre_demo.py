"""Browser walk of the demo commune's plan: the mayor of Ailleville opens the map of the fictitious demo plan over the
base layer; the map document alone passes axe with no violation."""
from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect


def _demo_plan(app, world, subscribe):
    from services.cadastre.cli import cli
    from tests.services.cadastre.conftest import _clear_rtrees

    _clear_rtrees(app)
    subscribe("cadastre", world.a)
    result = app.test_cli_runner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output


def test_cadastre_map_document_has_no_accessibility_violation(app, world, subscribe, page, sign_in, shot):
    _demo_plan(app, world, subscribe)
    sign_in(page, world.users["mayor_a"].email, world.password)
    page.goto("/s/cadastre/carte", wait_until="domcontentloaded")  # not "load": it waits for every base-layer tile
    expect(page).to_have_title(re.compile(r"^Plan cadastral — "))
    expect(page.locator(".leaflet-container")).to_be_visible(timeout=30_000)
    expect(page.locator("path.leaflet-interactive").first).to_be_attached(timeout=30_000)  # commune and sections
    expect(page.locator(".cadastre-demo-mark")).to_have_text("Plan fictif de démonstration")
    assert page.evaluate("document.documentElement.lang") == "fr"
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    # The map page of the service, with the map in its frame and the panel beside it.
    page.goto("/s/cadastre/", wait_until="domcontentloaded")
    frame = page.frame_locator("#cadastre-map")
    expect(frame.locator(".cadastre-demo-mark")).to_be_visible(timeout=30_000)
    expect(frame.locator("path.leaflet-interactive").first).to_be_attached(timeout=30_000)
    page.wait_for_timeout(800)
    shot(page, "cadastre-demo-commune-map")
    map_frame = next(f for f in page.frames if "/s/cadastre/carte" in f.url)
    map_frame.evaluate("() => window.portalMaps.map.setZoom(16, {animate: false})")
    page.wait_for_timeout(1500)
    shot(page, "cadastre-demo-commune-map-z16")
