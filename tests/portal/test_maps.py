"""portal.maps: one Leaflet for the whole portal, the configured base layer allowed by the CSP once, map documents
with a title, a language and a landmark, and no inline script anywhere."""
from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from portal.maps import IGN_ATTRIBUTION, IGN_PLAN_WMTS, basemap_origin
from tests.services.alerts.conftest import alerts_world  # noqa: F401 - fixture: Ailleville subscribes to alerts

ROOT = Path(__file__).resolve().parents[2]


def _data_map(html: str, element_id: str) -> dict:
    match = re.search(rf'<div id="{element_id}"[^>]*data-map=\'([^\']*)\'', html)
    assert match, html
    return json.loads(unescape(match.group(1)))


def test_one_vendored_leaflet_with_its_versions_and_licences():
    vendor = ROOT / "portal" / "static" / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert "leaflet 1.9.4" in readme and "leaflet.vectorgrid 1.3.0" in readme and "BSD-2-Clause" in readme
    assert "Leaflet 1.9.4" in (vendor / "leaflet" / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert (vendor / "leaflet" / "LICENSE").is_file() and (vendor / "leaflet.vectorgrid" / "LICENSE").is_file()


def test_the_default_base_layer_is_the_ign_plan_and_every_page_allows_its_host_once(app, client):
    assert app.config["MAP_BASEMAP_URL"] == IGN_PLAN_WMTS
    assert app.config["MAP_BASEMAP_ATTRIBUTION"] == IGN_ATTRIBUTION == "© IGN – Plan IGN"
    assert "TILEMATRIXSET=PM" in IGN_PLAN_WMTS  # the EPSG:3857 tile matrix set, as Leaflet tiles it
    csp = client.get("/connexion").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://data.geopf.fr;" in csp
    assert csp.count("data.geopf.fr") == 1 and "unsafe-inline" not in csp


def test_basemap_origin_is_empty_without_a_base_layer():
    assert basemap_origin({"MAP_BASEMAP_URL": ""}) == ""
    assert basemap_origin({"MAP_BASEMAP_URL": "https://tiles.example.org:8443/{z}/{x}/{y}.png"}) == \
        "https://tiles.example.org:8443"


def test_the_alerts_zone_map_is_built_by_the_portal_with_the_base_layer(app, world, alerts_world, login_as):
    secretary = login_as("secretary_a")
    html = secretary.get("/s/alerts/alertes/nouvelle").get_data(as_text=True)
    config = _data_map(html, "zone-map")
    assert config["basemap"] == {"url": IGN_PLAN_WMTS, "attribution": IGN_ATTRIBUTION, "maxNativeZoom": 19}
    assert config["data"]["url"] == "/api/v1/alerts/map"
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/js/maps.js" in html
    assert "alerts/static/vendor" not in html and "/s/alerts/static/vendor" not in html


def test_a_map_document_has_a_title_a_language_a_landmark_and_no_inline_script(app):
    from portal.maps import map_config, map_document

    with app.test_request_context("/"):
        config = map_config(points=[{"lat": 48.25, "lon": 4.68, "label": "<b>Bureau 1</b>"}], center=(48.25, 4.68))
        resp = map_document(config, title="Carte des bureaux de vote", vectorgrid=True)
    html = resp.get_data(as_text=True)
    assert re.search(r'<html lang="fr"', html) and "<title>Carte des bureaux de vote — " in html
    assert "<main aria-label=" in html and 'role="region" aria-label="Carte des bureaux de vote"' in html
    assert "<b>" not in html and "Leaflet.VectorGrid.bundled.min.js" in html
    assert all(re.search(r"<script src=", tag) for tag in re.findall(r"<script[^>]*>", html))  # none inline
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
    assert "https://data.geopf.fr" in csp and resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert _data_map(html, "map")["points"][0]["label"] == "<b>Bureau 1</b>"  # text for maps.js, never HTML


def test_without_a_base_layer_nothing_is_loaded_from_outside(app):
    from portal.maps import map_config, map_document

    saved = app.config["MAP_BASEMAP_URL"]
    app.config["MAP_BASEMAP_URL"] = ""
    try:
        with app.test_request_context("/"):
            assert map_config()["basemap"] is None
            csp = map_document(map_config(), title="Carte").headers["Content-Security-Policy"]
    finally:
        app.config["MAP_BASEMAP_URL"] = saved
    assert "img-src 'self' data:;" in csp
