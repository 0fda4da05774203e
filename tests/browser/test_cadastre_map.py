"""Browser walk of the land registry on Luxiol's real plan: the mayor searches a parcel, the map centres on it and
the side panel shows its area; a click on the map fills the panel."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.services.cadastre.conftest import EDIGEO, extra_communes, run_import  # noqa: F401 - fixtures

PARCEL = "25354000AB0050"
NEIGHBOUR = "25354000ZI0019"  # touches AB 50 on its south side (39 099 m²)


def test_mayor_searches_a_parcel_and_the_map_centres_on_it(app, world, extra_communes, run_import, page,  # noqa: F811
                                                            sign_in, shot, overflow):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cadastre.geometry import to_wgs84
    from services.cadastre.models import Parcel

    from sqlalchemy import select

    run_import(EDIGEO, commune="25354")
    with app.app_context(), territory_scope(None):
        shape = to_wgs84(db.session.scalar(select(Parcel.geom).where(Parcel.idu == PARCEL)))
        neighbour = to_wgs84(db.session.scalar(select(Parcel.geom).where(Parcel.idu == NEIGHBOUR)))
    sign_in(page, extra_communes.users["mayor_lux"], world.password)
    page.goto("/s/cadastre/")
    page.locator("#cadastre-q").fill("AB 50")
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("main")).to_contain_text("1 parcelle trouvée")
    shot(page, "cadastre-search")
    with page.expect_navigation():
        page.get_by_role("link", name="Sur la carte").first.click()
    panel = page.locator("#cadastre-panel")
    expect(panel).to_contain_text("Parcelle AB 50")
    expect(panel).to_contain_text("139 610 m²")
    frame = page.frame_locator("#cadastre-map")
    expect(frame.locator(".leaflet-container")).to_be_visible()
    map_frame = next(f for f in page.frames if "/s/cadastre/carte" in f.url)
    map_frame.wait_for_function("window.portalMaps && window.portalMaps.map")
    center = map_frame.evaluate("""() => { const m = window.portalMaps.map; const c = m.getCenter();
                                    return [c.lng, c.lat, m.getZoom()]; }""")
    minx, miny, maxx, maxy = shape.bounds
    assert minx <= center[0] <= maxx and miny <= center[1] <= maxy, (center, shape.bounds)
    assert center[2] >= 15  # parcels (zoom 14+) and buildings (15+) are drawn
    # Section codes are written at this zoom (AB: the parcel's section).
    expect(frame.locator(".cadastre-section-label", has_text="AB")).to_have_count(1)
    # Vector tiles arrived and were drawn (SVG paths of the parcels layer).
    expect(frame.locator("path.leaflet-interactive").first).to_be_attached()
    page.wait_for_timeout(500)
    shot(page, "cadastre-map-parcel")
    assert overflow(page) == 0
    # A click on the neighbouring parcel, where the map draws it, fills the side panel (postMessage from the map).
    inner = neighbour.representative_point()
    xy = map_frame.evaluate(f"""() => {{ const m = window.portalMaps.map; const p = m.latLngToContainerPoint([{inner.y}, {inner.x}]);
                                    return [p.x, p.y]; }}""")
    page.evaluate("document.getElementById('cadastre-map').scrollIntoView()")
    box = page.locator("#cadastre-map").bounding_box()
    assert 0 < xy[0] < box["width"] and 0 < xy[1] < box["height"], (xy, box)
    expect(frame.locator("path.leaflet-interactive").nth(20)).to_be_attached()  # tiles drawn
    red = frame.locator('path[stroke="#ce0500"]')
    expect(red).to_have_count(1)  # the selection: AB 50
    before = red.first.bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
    expect(panel).to_contain_text("Parcelle ZI 19")
    assert f"parcelle={NEIGHBOUR}" in page.url
    # The selection is redrawn: one red outline, now around the parcel clicked (not AB 50's any more).
    expect(frame.locator(f'.leaflet-container[data-selected="{NEIGHBOUR}"]')).to_have_count(1)
    expect(red).to_have_count(1)
    after = red.first.bounding_box()
    click_x, click_y = box["x"] + xy[0], box["y"] + xy[1]
    assert after["x"] <= click_x <= after["x"] + after["width"] and after["y"] <= click_y <= after["y"] + after["height"]
    assert (after["x"], after["y"], after["width"]) != (before["x"], before["y"], before["width"])
    ne = [neighbour.bounds[0], neighbour.bounds[3]]  # the outline spans the neighbour's extent on screen
    corner = map_frame.evaluate(f"""() => {{ const m = window.portalMaps.map; const p = m.latLngToContainerPoint([{ne[1]}, {ne[0]}]);
                                    return [p.x, p.y]; }}""")
    assert abs(box["x"] + corner[0] - after["x"]) < 4 and abs(box["y"] + corner[1] - after["y"]) < 4, (corner, after)
    page.wait_for_timeout(300)
    shot(page, "cadastre-map-click")
    # Zoomed out to 15: the section codes are on the map, inside the view.
    map_frame.evaluate("""() => { const m = window.portalMaps.map; m.setZoom(15, {animate: false}); }""")
    labels = frame.locator(".cadastre-section-label")
    expect(labels.first).to_be_visible()
    page.wait_for_timeout(800)
    shot(page, "cadastre-map-sections")


def test_the_open_map_renews_the_grant_of_its_tiles(app, world, extra_communes, run_import, page,  # noqa: F811
                                                     sign_in, monkeypatch):
    """The map's tile URLs carry a grant (portal/grants.py) that expires; the open map asks the gate for a new one at
    half its life and fetches the next tiles with it. Here grants live 10 s: the map renews every 5 s."""
    run_import(EDIGEO, commune="25354")
    monkeypatch.setitem(app.config, "GRANT_MAX_AGE", 10)
    tiles, renewals = [], []
    page.on("response", lambda r: tiles.append((r.url, r.status)) if "/s/cadastre/tuiles/" in r.url
            and ".pbf" in r.url else renewals.append(r.status) if r.url.endswith("/s/cadastre/tuiles/acces") else None)
    sign_in(page, extra_communes.users["mayor_lux"], world.password)
    page.goto(f"/s/cadastre/?parcelle={PARCEL}")
    frame = page.frame_locator("#cadastre-map")
    expect(frame.locator("path.leaflet-interactive").first).to_be_attached()
    first = {url.split("grant=")[1] for url, _status in tiles}
    assert len(first) == 1 and all(status in (200, 204) for _u, status in tiles), tiles
    page.wait_for_timeout(6000)
    assert renewals and all(status == 200 for status in renewals), renewals
    page.wait_for_timeout(5000)  # the first grant has expired: only a renewed one can fetch tiles now
    seen = len(tiles)
    map_frame = next(f for f in page.frames if "/s/cadastre/carte" in f.url)
    map_frame.evaluate("""() => { const m = window.portalMaps.map; m.panBy([600, 400], {animate: false}); }""")
    for _ in range(40):  # the tiles of the new view (a loaded machine may take seconds to answer them)
        page.wait_for_timeout(500)
        if len(tiles) > seen:
            break
    later = tiles[seen:]
    assert later, "panning fetched no tile"
    assert all(url.split("grant=")[1] not in first for url, _s in later), "tiles still asked with the first grant"
    assert all(status in (200, 204) for _u, status in later), later  # never 403: the grant was fresh
