"""Browser walk of the cemetery: the secretary of Ailleville draws a new allée on the plan, then an emplacement in
it, grants a concession, records a burial, sees the emplacement occupied on the plan, and prints the title of
concession. axe checks every page (tests/browser/conftest.py)."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.services.cemetery.conftest import cemetery_world  # noqa: F401 - fixture


def _draw(page, points, map_id="plan-map"):
    """Click ``points`` (lon, lat; on a scanned plan: x, height − y) on the plan with Leaflet.draw's polygon tool,
    then the first one to close it."""
    page.locator(f"#{map_id} .leaflet-draw-draw-polygon").click()
    box = page.locator(f"#{map_id}").bounding_box()
    for lon, lat in [*points, points[0]]:
        x, y = page.evaluate(f"() => {{ const p = window.portalMaps['{map_id}'].latLngToContainerPoint([{lat}, {lon}]);"
                             f" return [p.x, p.y]; }}")
        assert 0 < x < box["width"] and 0 < y < box["height"], (x, y, box)
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(150)


def _click_plot(page, map_id, plot_id):
    """A real click in the middle of the emplacement drawn on the canvas."""
    box = page.locator(f"#{map_id}").bounding_box()
    x, y = page.evaluate(f"""() => {{ const m = window.portalMaps['{map_id}'];
        const p = m.latLngToContainerPoint(window.cemeteryPlan.boundsOf({plot_id}).getCenter()); return [p.x, p.y]; }}""")
    page.mouse.click(box["x"] + x, box["y"] + y)


def _scan_png(path):
    """A « scanned » plan: a pale sheet with the outline of two allées, 640 × 480 pixels."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 480), (244, 240, 226))
    draw = ImageDraw.Draw(image)
    draw.rectangle([40, 40, 600, 440], outline=(60, 60, 60), width=3)
    for x in (180, 300):
        draw.line([x, 60, x, 420], fill=(120, 120, 120), width=2)
    image.save(path, "PNG")
    return path


def test_secretary_draws_an_allee_grants_a_concession_records_a_burial_and_prints_the_title(
        app, world, cemetery_world, page, sign_in, shot, overflow, t, tmp_path):  # noqa: F811 - fixture
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, world.users["secretary_a"].email, world.password)
    page.goto("/s/cemetery/")
    expect(page.locator("#plan-map")).to_have_attribute("data-loaded", "6")  # cemetery, alley, 4 emplacements
    page.locator("#plan-map").scroll_into_view_if_needed()
    _draw(page, [(4.6802, 48.2503), (4.6809, 48.2503), (4.6809, 48.2505), (4.6802, 48.2505)])
    expect(page.locator("#drawn-status")).not_to_be_empty()
    shot(page, "cemetery-plan-drawing")
    page.locator("#alley-name").fill("B")
    with page.expect_navigation():
        page.locator("#alley-form button[type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text(t("Allée added."))
    expect(page.locator("#plan-map")).to_have_attribute("data-loaded", "7")

    page.locator("#plan-map").scroll_into_view_if_needed()
    page.evaluate("() => window.portalMaps['plan-map'].setView([48.25035, 4.68027], 21, {animate: false})")
    _draw(page, [(4.68025, 48.25032), (4.68029, 48.25032), (4.68029, 48.25038), (4.68025, 48.25038)])
    expect(page.locator("#drawn-status")).not_to_be_empty()
    page.locator("#plot-alley").select_option(label="Cimetière communal — Ancien — B")
    page.locator("#plot-number").fill("1")
    with page.expect_navigation():
        page.locator("#plot-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Ancien · B · 1")
    plot_id = int(page.url.rstrip("/").split("/")[-1])

    page.locator("#c-kind").select_option("thirty")
    page.locator("#h-last").fill("Lefèvre")
    page.locator("#h-first").fill("Hélène")
    page.locator("#h-address").fill("8 rue de la Fontaine")
    page.locator("#h-postcode").fill("10200")
    page.locator("#h-city").fill("Ailleville")
    with page.expect_navigation():
        page.locator("#concession-form button[type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text(t("Concession granted."))
    title_href = page.locator("a[href$='titre.pdf']").get_attribute("href")
    page.get_by_role("link", name=t("Concessionnaires"), exact=True).click()
    expect(page.locator("main")).to_contain_text("LEFÈVRE Hélène")
    shot(page, "cemetery-concession-holders")

    page.get_by_role("link", name=t("Back to the emplacement"), exact=False).click()
    page.locator("#o-kind").select_option("inhumation")
    page.locator("#o-last").fill("Lefèvre")
    page.locator("#o-first").fill("Marcel")
    page.locator("#o-death").fill("2026-11-30")
    page.locator("#o-operator").fill("Pompes funèbres de l'Aube")
    page.locator("#o-auth").fill("2026-42")
    with page.expect_navigation():
        page.locator("#operation-form button[type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text(t("Operation recorded."))
    expect(page.locator("main")).to_contain_text("LEFÈVRE Marcel")
    shot(page, "cemetery-plot-sheet")

    page.goto("/s/cemetery/")
    expect(page.locator("#plan-map")).to_have_attribute("data-loaded", "8")
    assert page.evaluate(f"() => window.cemeteryPlan.stateOf({plot_id})") == "occupied"
    page.evaluate(f"() => window.portalMaps['plan-map'].fitBounds(window.cemeteryPlan.boundsOf({plot_id}), "
                  "{maxZoom: 21, animate: false})")
    _click_plot(page, "plan-map", plot_id)
    expect(page.locator(".leaflet-popup")).to_contain_text(t("Open the sheet"))
    expect(page.locator(".leaflet-popup")).to_contain_text("B · 1")
    page.wait_for_timeout(300)  # the bubble's fade-in
    shot(page, "cemetery-plan-occupied")

    # The scanned paper plan: the secretary sends it, draws the new emplacement on it and places it.
    page.goto("/s/cemetery/")
    page.get_by_role("link", name=t("Scanned plan: send the image of a paper plan")).click()
    page.locator("#scan-file").set_input_files(str(_scan_png(tmp_path / "plan-scanne.png")))
    with page.expect_navigation():
        page.locator("#scan-upload button[type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text("640 × 480")
    expect(page.locator("#scan-map")).to_have_attribute("data-loaded", "0")
    page.locator("#scan-map").scroll_into_view_if_needed()
    # pixels (x, y from the top) 200–260 × 100–180 of the image: CRS.Simple's (lng, lat) = (x, 480 − y)
    _draw(page, [(200, 380), (260, 380), (260, 300), (200, 300)], map_id="scan-map")
    expect(page.locator("#drawn-status")).not_to_be_empty()
    page.locator("#place-target").select_option(f"plot:{plot_id}")
    with page.expect_navigation():
        page.locator("#place-form button[type=submit]").click()
    expect(page.locator(".flashes")).to_contain_text(t("Placed on the scanned plan."))
    expect(page.locator("#scan-map")).to_have_attribute("data-loaded", "1")
    assert page.evaluate(f"() => window.cemeteryPlan.stateOf({plot_id})") == "occupied"
    box = page.evaluate(f"""() => {{ const b = window.cemeteryPlan.boundsOf({plot_id});
        return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }}""")
    # a click lands on a whole screen pixel: at this zoom, about a pixel and a half of the image
    assert all(abs(v - e) <= 3 for v, e in zip(box, (200, 300, 260, 380))), box
    page.locator("#scan-map").scroll_into_view_if_needed()
    _click_plot(page, "scan-map", plot_id)
    expect(page.locator("#scan-map .leaflet-popup")).to_contain_text("B · 1")
    page.wait_for_timeout(300)
    shot(page, "cemetery-scanned-plan")

    pdf = page.request.get(title_href)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    assert not errors, errors
    assert overflow(page) == 0
