"""The JSON API with a personal access token (``Authorization: Bearer …``, ``X-Collectivity``), on Luxiol's real
plan and the synthetic parcels of Ailleville and Jaucourt: by id, box, point, neighbours, tiles; another territory
answers 404; every path is in the OpenAPI document."""
from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
import shapely
from sqlalchemy import select

from .conftest import EDIGEO

PARCEL = "25354000AB0001"


def _token(app, email):
    from portal.extensions import db
    from portal.models import User
    from portal.security import create_api_token

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        _tok, clear = create_api_token(user, "tests")
        db.session.commit()
        return clear


class Api:
    def __init__(self, app, token, collectivity=None):
        self.http = app.test_client()  # no cookie: the token alone
        self.headers = {"Authorization": f"Bearer {token}"}
        if collectivity is not None:
            self.headers["X-Collectivity"] = str(collectivity)

    def get(self, url):
        return self.http.get(url, headers=self.headers)


def _tile_of(lon, lat, z=16):
    n = 1 << z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture
def luxiol_api(app, extra_communes, run_import):
    run_import(EDIGEO, commune="25354")
    return Api(app, _token(app, extra_communes.users["mayor_lux"]))


def test_parcel_by_id_box_point_neighbours_and_tile_with_a_token(app, luxiol_api):
    api = luxiol_api
    resp = api.get(f"/api/v1/cadastre/parcels/{PARCEL}")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    f = resp.get_json()
    assert f["id"] == PARCEL and f["properties"]["contenance"] == 226060 and f["properties"]["section"] == "AB"
    shape = shapely.geometry.shape(f["geometry"])
    assert 6.3 < shape.centroid.x < 6.4 and 47.3 < shape.centroid.y < 47.45  # WGS84, Luxiol
    pt = shape.representative_point()
    under = api.get(f"/api/v1/cadastre/parcels?lon={pt.x}&lat={pt.y}").get_json()
    assert [x["id"] for x in under["features"]] == [PARCEL]
    nowhere = api.get("/api/v1/cadastre/parcels?lon=2.35&lat=48.85").get_json()
    assert nowhere == {"type": "FeatureCollection", "features": []}
    minx, miny, maxx, maxy = shape.bounds
    box = api.get(f"/api/v1/cadastre/parcels?bbox={minx},{miny},{maxx},{maxy}").get_json()
    ids = {x["id"] for x in box["features"]}
    assert PARCEL in ids and box["truncated"] is False
    assert all(shapely.geometry.shape(x["geometry"]).intersects(shapely.box(minx, miny, maxx, maxy).buffer(1e-5))
               for x in box["features"])
    neigh = api.get(f"/api/v1/cadastre/parcels/{PARCEL}/neighbours?distance=1").get_json()
    assert neigh["parcel"] == PARCEL and neigh["distance"] == 1 and neigh["features"]
    assert PARCEL not in {x["id"] for x in neigh["features"]}
    for x in neigh["features"]:
        assert shapely.geometry.shape(x["geometry"]).distance(shape) < 2e-5  # ≈ 1.5 m in degrees
    z, tx, ty = _tile_of(pt.x, pt.y)
    tile = api.get(f"/api/v1/cadastre/tiles/{z}/{tx}/{ty}.pbf")
    assert tile.status_code == 200 and tile.mimetype == "application/vnd.mapbox-vector-tile"
    assert tile.headers["Cache-Control"] == "private, max-age=300"
    assert PARCEL in {g["properties"]["id"] for g in mapbox_vector_tile.decode(tile.data)["parcelles"]["features"]}
    # Bad parameters: 400 with a message; a wrong token or none: 401.
    assert api.get("/api/v1/cadastre/parcels?bbox=6,47,8,49").status_code == 400  # more than 0.5°
    assert api.get("/api/v1/cadastre/parcels?lon=200&lat=1").status_code == 400
    assert api.get(f"/api/v1/cadastre/parcels/{PARCEL}/neighbours?distance=500").status_code == 400
    bad = Api(app, "ext_not-a-token")
    assert bad.get(f"/api/v1/cadastre/parcels/{PARCEL}").status_code == 401
    assert app.test_client().get(f"/api/v1/cadastre/parcels/{PARCEL}").status_code == 401


def test_another_territory_answers_404_with_a_token(app, world, extra_communes, ab_parcels):
    """A secretary of Ailleville and Jaucourt: X-Collectivity chooses the territory; the other one's parcels are
    404 on every route, exactly like a parcel that does not exist."""
    token = _token(app, world.users["secretary_ab"].email)
    api_a, api_b = Api(app, token, world.a), Api(app, token, world.b)
    lon, lat = ab_parcels.places[world.insee_b]
    z, x, y = _tile_of(lon + 0.0005, lat + 0.0005)
    b_urls = [f"/api/v1/cadastre/parcels/{ab_parcels.b}", f"/api/v1/cadastre/parcels/{ab_parcels.b}/neighbours",
              f"/api/v1/cadastre/tiles/{z}/{x}/{y}.pbf"]
    for url in b_urls:
        assert api_b.get(url).status_code == 200, url  # the data exist: B's own view gets them
        resp = api_a.get(url)
        assert resp.status_code == (204 if url.endswith(".pbf") else 404), url  # a tile: nothing of A's in it
        assert ab_parcels.b not in resp.get_data(as_text=True)
    under = api_a.get(f"/api/v1/cadastre/parcels?lon={lon + 0.0005}&lat={lat + 0.0005}").get_json()
    assert under["features"] == []
    box = api_a.get(f"/api/v1/cadastre/parcels?bbox={lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}").get_json()
    assert ab_parcels.b not in {f["id"] for f in box["features"]}
    assert {f["id"][:5] for f in box["features"]} <= {world.insee_a}
    # A collectivity the token's user has no membership of falls back to their first one, never to that one.
    api_t = Api(app, token, world.troyes)
    assert api_t.get(f"/api/v1/cadastre/parcels/{ab_parcels.troyes}").status_code == 404
    # The mayor of Luxiol (a commune outside the department's EPCI): none of them.
    lux = Api(app, _token(app, extra_communes.users["mayor_lux"]))
    for idu in (ab_parcels.a, ab_parcels.b, ab_parcels.troyes):
        assert lux.get(f"/api/v1/cadastre/parcels/{idu}").status_code == 404


def test_every_cadastre_api_route_is_in_the_openapi_document(app, luxiol_api):
    doc = luxiol_api.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/cadastre/"):
            routes.add(rule.rule.replace("/api/v1", "").replace("<idu>", "{idu}").replace("<int:z>", "{z}")
                       .replace("<int:x>", "{x}").replace("<int:y>", "{y}"))
    assert routes and routes <= set(paths), routes - set(paths)
    assert paths["/cadastre/parcels/{idu}"]["get"]["responses"]["404"]
