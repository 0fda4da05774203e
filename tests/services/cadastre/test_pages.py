"""Pages of the land registry on the real Luxiol plan: map page, map document, tiles, search, parcel, CSV, API."""
from __future__ import annotations

import pytest

from .conftest import EDIGEO

PARCEL = "25354000AB0001"  # 226 060 m² (DGFiP), lieu-dit in section AB


@pytest.fixture
def luxiol(app, extra_communes, run_import, sign_in):
    run_import(EDIGEO, commune="25354")
    return sign_in(extra_communes.users["mayor_lux"])


def test_map_page_shows_the_plan_and_the_selected_parcel(luxiol):
    body = luxiol.get("/s/cadastre/").get_data(as_text=True)
    assert 'id="cadastre-map"' in body and "/s/cadastre/carte" in body
    assert "2018-06" in body and "Luxiol" in body
    body = luxiol.get(f"/s/cadastre/?parcelle={PARCEL}").get_data(as_text=True)
    assert PARCEL in body and "226 060 m²" in body and f"parcelle={PARCEL}" in body


def _map_config(body: str) -> dict:
    import html
    import json
    import re

    return json.loads(html.unescape(re.search(r"data-map='([^']*)'", body).group(1)))


def test_map_document_uses_local_scripts_only(luxiol):
    import html
    import re

    resp = luxiol.get(f"/s/cadastre/carte?parcelle={PARCEL}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self';" in csp
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "vendor/leaflet/leaflet.js" in body and "Leaflet.VectorGrid.bundled.min.js" in body
    assert "<script>" not in body and "style=" not in body  # no inline script or style: the CSP allows none
    config = _map_config(body)
    # The only outside address is the base layer's (IGN Plan WMTS by default), which the CSP allows for images.
    assert [u for u in re.findall(r"https?://[^/\"']+", html.unescape(body))] == ["https://data.geopf.fr"]
    assert config["basemap"]["url"].startswith("https://data.geopf.fr/wmts?") and "img-src 'self' data: https://data.geopf.fr" in csp
    assert "IGN" in config["basemap"]["attribution"]
    data = config["data"]
    assert "/s/cadastre/tuiles/{z}/{x}/{y}.pbf" in data["tiles"] and data["selectedId"] == PARCEL
    assert "bounds" in config["view"]
    # Section codes written on the map (from zoom 15): the 8 sections of Luxiol, at points inside the commune.
    labels = data["labels"]
    assert sorted(code for _lat, _lon, code in labels) == ["AB", "AK", "ZB", "ZC", "ZD", "ZE", "ZH", "ZI"]
    assert all(47.3 < lat < 47.5 and 6.2 < lon < 6.5 for lat, lon, _c in labels)
    assert luxiol.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert luxiol.get("/s/cadastre/static/map.js").status_code == 200


def test_the_map_document_has_a_title_a_language_and_landmarks(luxiol):
    """/s/cadastre/carte is a document of its own (in an iframe): a title, lang="fr", a main landmark and a heading."""
    body = luxiol.get("/s/cadastre/carte").get_data(as_text=True)
    assert '<html lang="fr"' in body and "<title>Plan cadastral — " in body
    assert "<main aria-label=" in body and "<h1" in body and 'role="region" aria-label="Carte des parcelles"' in body


def test_vector_tile_holds_parcels_with_their_id(app, luxiol):
    import math

    import mapbox_vector_tile

    lon, lat, z = 6.3291, 47.3858, 16
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    resp = luxiol.get(f"/s/cadastre/tuiles/{z}/{x}/{y}.pbf")
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(resp.data)
    ids = {f["properties"]["id"] for f in tile["parcelles"]["features"]}
    assert PARCEL in ids and all(len(i) == 14 for i in ids)
    assert set(tile) >= {"parcelles", "commune", "sections", "batiments"} or set(tile) >= {"parcelles"}
    assert set(tile["parcelles"]["features"][0]["properties"]) == {"id"}
    # Far from any parcel of the territory: nothing.
    assert luxiol.get("/s/cadastre/tuiles/30/0/0.pbf").status_code == 404  # no such tile


def test_an_empty_tile_answers_204_not_404(luxiol):
    """A tile with nothing of the territory is not an error (the browser console showed a 404 for each)."""
    for url in ("/s/cadastre/tuiles/16/0/0.pbf", "/s/cadastre/tuiles/3/1/1.pbf"):
        resp = luxiol.get(url)
        assert resp.status_code == 204 and resp.data == b"" and "max-age" in resp.headers["Cache-Control"]


@pytest.mark.parametrize("q", ["AB 1", "ab1", "AB 0001", PARCEL, "000 AB 1"])
def test_search_by_reference(luxiol, q):
    body = luxiol.get(f"/s/cadastre/recherche?q={q}").get_data(as_text=True)
    assert PARCEL in body and "1 parcelle trouvée" in body or PARCEL in body


def test_search_list_of_ids_reports_the_missing_ones(luxiol):
    body = luxiol.get(f"/s/cadastre/recherche?q={PARCEL}%0A25354000AB0050%0A25354000AB9999").get_data(as_text=True)
    assert PARCEL in body and "25354000AB0050" in body
    assert "25354000AB9999" in body and "Introuvable" in body


def test_search_partial_and_suggestions(luxiol):
    body = luxiol.get("/s/cadastre/recherche?q=25354000ZB").get_data(as_text=True)
    assert "25354000ZB0002" in body and "25354000AB0001" not in body
    sugg = luxiol.get("/s/cadastre/suggestions?q=AB 5").get_json()
    assert any(s["id"].startswith("25354000AB005") for s in sugg)


def test_parcel_page_panel_neighbours_and_csv(luxiol):
    body = luxiol.get(f"/s/cadastre/parcelles/{PARCEL}").get_data(as_text=True)
    assert "Parcelle AB 1" in body and "226 060 m²" in body and "22 ha 60 a 60 ca" in body
    panel = luxiol.get(f"/s/cadastre/parcelles/{PARCEL}/panneau").get_data(as_text=True)
    assert "<html" not in panel and PARCEL in panel
    neigh = luxiol.get(f"/s/cadastre/parcelles/{PARCEL}/voisines").get_data(as_text=True)
    assert "parcelles voisines" in neigh or "parcelle voisine" in neigh
    csv = luxiol.get(f"/s/cadastre/parcelles/{PARCEL}/voisines?format=csv")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("identifiant;commune") and len(lines) >= 2
    assert all(PARCEL not in line for line in lines[1:])
    assert luxiol.get("/s/cadastre/parcelles/25354000AB9999").status_code == 404
    assert luxiol.get("/s/cadastre/parcelles/n'importe-quoi").status_code == 404


def test_api_parcel_bbox_point_neighbours(luxiol, app):
    f = luxiol.get(f"/api/v1/cadastre/parcels/{PARCEL}").get_json()
    assert f["type"] == "Feature" and f["properties"]["contenance"] == 226060
    lon, lat = f["geometry"]["coordinates"][0][0][0]
    assert 6 < lon < 7 and 47 < lat < 48  # WGS84
    import shapely

    shape = shapely.geometry.shape(f["geometry"])
    pt = shape.representative_point()
    under = luxiol.get(f"/api/v1/cadastre/parcels?lon={pt.x}&lat={pt.y}").get_json()
    assert [x["id"] for x in under["features"]] == [PARCEL]
    minx, miny, maxx, maxy = shape.bounds
    box = luxiol.get(f"/api/v1/cadastre/parcels?bbox={minx},{miny},{maxx},{maxy}").get_json()
    assert PARCEL in {x["id"] for x in box["features"]} and len(box["features"]) > 1
    neigh = luxiol.get(f"/api/v1/cadastre/parcels/{PARCEL}/neighbours").get_json()
    assert neigh["features"] and PARCEL not in {x["id"] for x in neigh["features"]}
    for touching in neigh["features"]:
        assert shapely.geometry.shape(touching["geometry"]).distance(shape) < 1e-4
    assert luxiol.get("/api/v1/cadastre/parcels?bbox=1,2,3").status_code == 400
    assert luxiol.get("/api/v1/cadastre/parcels?lon=x&lat=1").status_code == 400
    assert luxiol.get("/api/v1/cadastre/parcels").status_code == 400
    assert luxiol.get("/api/v1/cadastre/parcels/10002000ZZ0001").status_code == 404
    spec = luxiol.get("/api/v1/openapi.json")
    if spec.status_code == 200:
        assert "/cadastre/parcels/{idu}" in str(spec.get_json()["paths"])


def test_empty_territory_says_so(app, world, subscribe, login_as):
    subscribe("cadastre", world.a)
    body = login_as("mayor_a").get("/s/cadastre/").get_data(as_text=True)
    assert "Aucun plan cadastral" in body or "No cadastral plan" in body


def test_parcel_sheet_pdf_has_the_map_and_the_areas(luxiol, tmp_path):
    import io

    from pypdf import PdfReader

    resp = luxiol.get(f"/s/cadastre/parcelles/{PARCEL}/fiche.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    (tmp_path / "fiche.pdf").write_bytes(resp.data)
    reader = PdfReader(io.BytesIO(resp.data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Fiche parcellaire" in text and PARCEL in text and "226 060 m²" in text and "BOIS DES SOIGNEMONS" in text
    assert "aucun propriétaire" in text
    # The map extract is vector drawing in the PDF (SVG rendered by WeasyPrint), with the parcel numbers.
    content = reader.pages[0].get_contents().get_data()
    assert content.count(b" l") > 100 or content.count(b"l\n") > 100


def test_embedded_tiles_orient_rings_as_the_tile_library_does(app, luxiol):
    """The embedded default orients and rounds all shapes at once instead of letting mapbox-vector-tile do it shape
    by shape: on the real Luxiol plan (parcels, buildings, sections, commune), at zooms 14 to 18 around the village,
    the tiles are byte for byte those the library's own check gives, and their parcels decode with exterior rings
    clockwise in tile coordinates (y down), as the MVT specification wants."""
    import math

    import mapbox_vector_tile
    from flask import g

    from services.cadastre import spatial

    lon, lat = 6.3291, 47.3858
    checked = 0
    for z in range(14, 19):
        n = 1 << z
        x0 = int((lon + 180) / 360 * n)
        y0 = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        for x, y in ((x0, y0), (x0 + 1, y0), (x0, y0 + 1)):
            with app.test_request_context():
                g.territory = frozenset({"25354"})
                layers = spatial.tile_layers(z, x, y)
            if not layers:
                continue
            ours = spatial.encode_tile(layers)
            assert ours == spatial.encode_tile(layers, library_winding=True), (z, x, y)
            decoded = mapbox_vector_tile.decode(ours, default_options={"y_coord_down": True})
            for feature in decoded.get("parcelles", {}).get("features", []):
                geom = feature["geometry"]
                polygons = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
                for rings in polygons:
                    ring = rings[0]
                    twice_area = sum(ax * by - bx * ay for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1]))
                    assert twice_area > 0, (z, x, y, feature["properties"])  # clockwise with y down
            checked += 1
    assert checked >= 10
