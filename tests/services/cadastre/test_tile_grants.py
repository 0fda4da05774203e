"""Map tiles fetched with a grant (portal/grants.py): the map document and the API's TileJSON give a signed tile URL
template; the tiles answer on the grant alone, within the grant's territory, and nothing else of the portal does."""
from __future__ import annotations

import json

import mapbox_vector_tile
import pytest

from tests.portal.test_api import _create_token

from .test_api_token import _tile_of


def _map_template(client) -> str:
    """The tile URL template written in the map document (what Leaflet.VectorGrid fetches)."""
    from .test_pages import _map_config

    return _map_config(client.get("/s/cadastre/carte").get_data(as_text=True))["data"]["tiles"]


def _ids(resp) -> set[str]:
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile", resp.status_code
    return {f["properties"]["id"] for f in mapbox_vector_tile.decode(resp.data)["parcelles"]["features"]}


@pytest.fixture
def places(ab_parcels, world):
    def tile(insee):
        lon, lat = ab_parcels.places[insee]
        return _tile_of(lon + 0.0005, lat + 0.0005)

    return tile


def test_the_map_fetches_its_tiles_with_a_grant_of_its_territory_only(app, world, login_as, ab_parcels, places):
    template = _map_template(login_as("mayor_a"))
    assert template.startswith("/s/cadastre/tuiles/{z}/{x}/{y}.pbf?grant=")
    anonymous = app.test_client()  # no cookie, no token: the grant alone
    z, x, y = places(world.insee_a)
    assert ab_parcels.a in _ids(anonymous.get(template.format(z=z, x=x, y=y)))
    # B's parcels exist (B's own map shows them) but A's grant shows none of them.
    z, x, y = places(world.insee_b)
    assert ab_parcels.b in _ids(anonymous.get(_map_template(login_as("mayor_b")).format(z=z, x=x, y=y)))
    assert anonymous.get(template.format(z=z, x=x, y=y)).status_code == 204


def test_an_epci_grant_covers_its_member_communes(app, world, login_as, ab_parcels, places):
    template = _map_template(login_as("epci_user"))
    anonymous = app.test_client()
    for insee, idu in ((world.insee_a, ab_parcels.a), (world.insee_b, ab_parcels.b)):
        assert idu in _ids(anonymous.get(template.format(**dict(zip("zxy", places(insee))))))
    assert anonymous.get(template.format(**dict(zip("zxy", places(world.insee_troyes))))).status_code == 204


def test_a_forged_expired_or_foreign_grant_is_refused(app, world, login_as, ab_parcels, places, monkeypatch):
    template = _map_template(login_as("mayor_a"))
    anonymous = app.test_client()
    url = template.format(**dict(zip("zxy", places(world.insee_a))))
    assert anonymous.get(url).status_code == 200
    base, _, token = url.partition("?grant=")
    payload, stamp, signature = token.split(".")
    # The territory changed to B's, signature kept: refused.
    import base64

    forged = base64.urlsafe_b64encode(json.dumps({"c": world.b, "t": [world.insee_b]}).encode()).decode().rstrip("=")
    assert anonymous.get(f"{base}?grant={forged}.{stamp}.{signature}").status_code == 403
    assert anonymous.get(f"{base}?grant=").status_code == 403
    assert anonymous.get(f"{base}?grant=nonsense").status_code == 403
    # A grant signed for another service, for the same territory: refused here.
    from portal import grants

    with app.test_request_context():
        from portal.extensions import db
        from portal.models import Collectivity

        other = grants.issue("electoral", db.session.get(Collectivity, world.a), {world.insee_a})
    assert anonymous.get(f"{base}?grant={other}").status_code == 403
    # Past its life (GRANT_MAX_AGE, 600 s by default): refused; the map asks for a new one through the gate.
    from itsdangerous.timed import TimestampSigner

    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 601)
    assert anonymous.get(url).status_code == 403
    monkeypatch.undo()
    assert anonymous.get(url).status_code == 200


def test_a_grant_opens_the_tiles_and_nothing_else(app, world, login_as, ab_parcels, places):
    template = _map_template(login_as("mayor_a"))
    token = template.partition("?grant=")[2]
    anonymous = app.test_client()
    for path in (f"/s/cadastre/parcelles/{ab_parcels.a}", f"/s/cadastre/parcelles/{ab_parcels.a}/fiche.pdf",
                 "/s/cadastre/", "/s/cadastre/carte", "/s/cadastre/tuiles/acces", "/s/cadastre/recherche?q=ZZ"):
        resp = anonymous.get(f"{path}{'&' if '?' in path else '?'}grant={token}")
        assert resp.status_code == 302 and "/connexion" in resp.headers["Location"], (path, resp.status_code)
    for path in (f"/api/v1/cadastre/parcels/{ab_parcels.a}", "/api/v1/cadastre/tiles", "/api/v1/me"):
        assert anonymous.get(f"{path}?grant={token}").status_code == 401, path


def test_the_open_map_renews_its_grant_through_the_gate(app, world, login_as, ab_parcels, places):
    mayor = login_as("mayor_a")
    from .test_pages import _map_config

    data = _map_config(mayor.get("/s/cadastre/carte").get_data(as_text=True))["data"]
    assert data["accessUrl"] == "/s/cadastre/tuiles/acces" and data["renewEveryMs"] == 300_000
    assert "setUrl" in mayor.get("/s/cadastre/static/map.js").get_data(as_text=True)
    fresh = mayor.get("/s/cadastre/tuiles/acces").get_json()
    assert fresh["expires_in"] == 600 and fresh["url"].startswith("/s/cadastre/tuiles/{z}/{x}/{y}.pbf?grant=")
    assert ab_parcels.a in _ids(app.test_client().get(fresh["url"].format(**dict(zip("zxy", places(world.insee_a))))))
    # Signed out: no new grant.
    assert app.test_client().get("/s/cadastre/tuiles/acces").status_code == 302


def test_tilejson_of_the_api_gives_a_template_usable_without_the_token(app, world, login_as, ab_parcels, places):
    token = _create_token(login_as("mayor_b"))
    api = app.test_client()
    doc = api.get("/api/v1/cadastre/tiles", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert doc["tilejson"] == "3.0.0" and doc["maxzoom"] >= 18 and doc["expires_in"] == 600
    assert {layer["id"] for layer in doc["vector_layers"]} == {"commune", "sections", "parcelles", "batiments"}
    (template,) = doc["tiles"]
    assert template.startswith("http://") and "/api/v1/cadastre/tiles/{z}/{x}/{y}.pbf?grant=" in template
    path = template.split("://", 1)[1].split("/", 1)[1]
    assert ab_parcels.b in _ids(api.get("/" + path.format(**dict(zip("zxy", places(world.insee_b))))))
    assert api.get("/" + path.format(**dict(zip("zxy", places(world.insee_a))))).status_code == 204
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/cadastre/tiles" in paths and any(p["name"] == "grant"
                                              for p in paths["/cadastre/tiles/{z}/{x}/{y}.pbf"]["get"]["parameters"])


def test_tiles_are_cached_per_vintage_with_an_etag(app, world, login_as, ab_parcels, places, run_import, tmp_path):
    """A tile is computed once per territory and plan version and comes back with an ETag (304 when the browser
    holds it); a new vintage of the commune changes both; the grant is still checked on every request."""
    from services.cadastre.tilecache import tile_cache

    from .conftest import square_parcels, write_geojson

    template = _map_template(login_as("mayor_a"))
    url = template.format(**dict(zip("zxy", places(world.insee_a))))
    anonymous = app.test_client()
    first = anonymous.get(url)
    etag = first.headers["ETag"]
    assert ab_parcels.a in _ids(first) and etag and first.headers["Cache-Control"] == "private, max-age=300"
    with app.app_context():
        cache = tile_cache()
    hits = cache.hits
    again = anonymous.get(url)
    assert again.data == first.data and again.headers["ETag"] == etag and cache.hits == hits + 1
    held = anonymous.get(url, headers={"If-None-Match": etag})
    assert held.status_code == 304 and held.data == b""
    # The grant is checked before the cache: a tampered one is refused although the tile is cached.
    assert anonymous.get(url.replace("grant=", "grant=x")).status_code in (401, 403)
    # A new vintage of Ailleville (parcels renumbered in section ZY): new ETag, new content.
    doc = square_parcels(world.insee_a, *ab_parcels.places[world.insee_a], section="ZY")
    for f in doc["features"]:
        f["properties"]["updated"] = "2025-06-01"
    run_import([write_geojson(tmp_path / f"cadastre-{world.insee_a}-parcelles.json", doc)])
    fresh = anonymous.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert f"{world.insee_a}000ZY0001" in _ids(fresh) and ab_parcels.a not in _ids(fresh)
    # Another territory's grant on the same tile: its own (empty) answer, never A's cached bytes.
    other = _map_template(login_as("mayor_b")).format(**dict(zip("zxy", places(world.insee_a))))
    assert anonymous.get(other).status_code == 204


def test_a_cached_tile_costs_no_database_read(app, world, login_as, ab_parcels, places):
    """Once the tile is kept and the plan version known, a request checks its grant and answers from memory."""
    from sqlalchemy import event

    from portal.extensions import db

    url = _map_template(login_as("mayor_a")).format(**dict(zip("zxy", places(world.insee_a))))
    anonymous = app.test_client()
    first = anonymous.get(url)
    statements = []
    with app.app_context():
        engine = db.engine

    def _seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _seen)
    try:
        again = anonymous.get(url)
        refused = anonymous.get(url.replace("grant=", "grant=x"))
    finally:
        event.remove(engine, "before_cursor_execute", _seen)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert refused.status_code in (401, 403)
    assert statements == []


def test_an_import_made_by_another_process_reaches_the_tiles_within_the_version_delay(
        app, world, login_as, ab_parcels, places, run_import, tmp_path, monkeypatch):
    """A worker or another host imports (this process is not told): the version read is trusted VERSION_SECONDS,
    then read again — the new plan is served, under a new ETag."""
    from services.cadastre import tilecache

    from .conftest import square_parcels, write_geojson

    now = [1000.0]
    monkeypatch.setattr(tilecache.time, "monotonic", lambda: now[0])
    url = _map_template(login_as("mayor_a")).format(**dict(zip("zxy", places(world.insee_a))))
    anonymous = app.test_client()
    first = anonymous.get(url)
    monkeypatch.setattr(tilecache, "plan_changed", lambda: None)  # the import runs elsewhere
    doc = square_parcels(world.insee_a, *ab_parcels.places[world.insee_a], section="ZY")
    for f in doc["features"]:
        f["properties"]["updated"] = "2025-06-01"
    run_import([write_geojson(tmp_path / f"cadastre-{world.insee_a}-parcelles.json", doc)])
    now[0] += tilecache.VERSION_SECONDS / 2
    assert anonymous.get(url).headers["ETag"] == first.headers["ETag"]  # still the version read a moment ago
    now[0] += tilecache.VERSION_SECONDS
    fresh = anonymous.get(url)
    assert fresh.headers["ETag"] != first.headers["ETag"] and f"{world.insee_a}000ZY0001" in _ids(fresh)


def test_a_cache_of_no_bytes_keeps_nothing():
    """CADASTRE_TILE_CACHE_MB=0: every tile is computed (the bench's cold tiles)."""
    from services.cadastre.tilecache import TileCache

    cache = TileCache(0)
    cache.put(("t",), b"tile")
    assert cache.get(("t",)) is None and cache.misses == 1


def test_a_cold_tile_with_the_plan_version_known_stays_in_its_territory(app, world, login_as, ab_parcels, places,
                                                                         monkeypatch):
    """A cache keeping nothing and the plan version known (the bench's cold tile): on PostgreSQL the tile is read in a
    transaction of its own on a pooled connection, not the session's — still the grant's territory only, and row-level
    security holds there even if the statement lost its own filter."""
    from sqlalchemy import event

    from portal.extensions import db
    from services.cadastre import spatial
    from services.cadastre.tilecache import TileCache

    with app.app_context():
        app.extensions["cadastre_tiles"] = TileCache(0)
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
    template = _map_template(login_as("mayor_a"))
    anonymous = app.test_client()
    url_a, url_b = (template.format(**dict(zip("zxy", places(insee)))) for insee in (world.insee_a, world.insee_b))
    first = anonymous.get(url_a)  # reads the plan version (the session's transaction)
    statements = []

    def _seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", _seen)
    try:
        again = anonymous.get(url_a)
        foreign = anonymous.get(url_b)
    finally:
        event.remove(engine, "before_cursor_execute", _seen)
    assert ab_parcels.a in _ids(first) and again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert foreign.status_code == 204
    if not postgres:
        return
    assert statements == []  # the tiles went on a connection of their own, not through the session
    # The statement's own territory filter dropped: row-level security alone keeps B's parcels out of A's tiles.
    statement = spatial.tile_query
    monkeypatch.setattr(spatial, "tile_query", lambda z, x, y, codes: statement(z, x, y, None))
    assert anonymous.get(url_b).status_code == 204
    assert ab_parcels.a in _ids(anonymous.get(url_a))
    # …which is what lets them through when the territory is every commune (the check above is not vacuous).
    with app.test_request_context():
        from flask import g

        g.territory = None
        assert spatial.tile(*places(world.insee_b))
