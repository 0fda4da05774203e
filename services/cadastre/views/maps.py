"""The map document (``/s/cadastre/carte``, in an iframe of the pages) and the vector tiles it fetches with a grant.

portal/maps.py draws the base layer and the view; ``static/map.js`` the plan's tiles, the click on a parcel, the
renewal of the grant and the section codes.
"""
from __future__ import annotations

from flask import Response, abort, g, jsonify, request, url_for
from flask_babel import gettext as _

from portal import grants, maps
from portal.urls import absolute_url

from .. import spatial
from ..access import selected_parcel
from ..geometry import to_wgs84
from ..models import Parcel
from ..tilecache import cached_tile
from ..queries import demo_plan_shown, section_labels, territory_extent
from . import bp

SELECTED_STYLE = {"color": "#ce0500", "weight": 3, "fillOpacity": 0.1}
SECTION_LABEL_ZOOM = 15  # section codes are written on the map from this zoom (the outlines appear at 12)
TILE_STYLES = {
    "commune": {"weight": 3, "color": "#000091", "fill": False, "opacity": 0.9},
    "sections": {"weight": 2, "color": "#b34000", "fill": False, "opacity": 0.8, "dashArray": "6 4"},
    "parcelles": {"weight": 1, "color": "#3a3a3a", "fill": True, "fillColor": "#fef7da", "fillOpacity": 0.35},
    "batiments": {"weight": 0.5, "color": "#6a6a6a", "fill": True, "fillColor": "#929292", "fillOpacity": 0.8},
}


def map_bounds(selected: Parcel | None):
    """[[south, west], [north, east]] of the selected parcel, else of the territory's plan; None when empty."""
    import shapely

    from ..geometry import reproject

    if selected is not None:
        minx, miny, maxx, maxy = to_wgs84(selected.geom).bounds
    else:
        extent = territory_extent()
        if extent is None:
            return None
        minx, miny, maxx, maxy = reproject(shapely.box(*extent), 2154, 4326).bounds
    return [[miny, minx], [maxy, maxx]]


def build_map(selected: Parcel | None) -> Response:
    """The map document: portal.maps draws the base layer and the view, ``static/map.js`` the plan."""
    data = {
        "tiles": tiles_template("cadastre.tile"), "styles": TILE_STYLES, "maxZoom": spatial.MAX_ZOOM,
        "featureUrl": url_for("cadastre_api.parcel", idu="IDU"), "accessUrl": url_for("cadastre.tile_access"),
        "renewEveryMs": max(5, grants.max_age() // 2) * 1000,
        "labels": section_labels(), "labelZoom": SECTION_LABEL_ZOOM, "selectedStyle": SELECTED_STYLE,
        "demoMark": _("Fictitious demonstration plan") if demo_plan_shown() else None,
    }
    if selected is not None:
        data["selected"] = to_wgs84(selected.geom).__geo_interface__
        data["selectedId"] = selected.idu
    bounds = map_bounds(selected)
    config = maps.map_config(bounds=bounds, max_zoom=spatial.MAX_ZOOM, data=data)
    return maps.map_document(config, title=_("Cadastral map"), label=_("Map of the parcels"), vectorgrid=True,
                             scripts=[url_for("cadastre.static", filename="map.js")],
                             styles=[url_for("cadastre.static", filename="map.css")])


def tiles_template(endpoint: str, *, absolute: bool = False, **url_options) -> str:
    """URL template ``…/{z}/{x}/{y}.pbf?grant=…`` of the tiles of ``endpoint`` with a fresh grant of the active
    collectivity (portal.grants): a map fetches its tiles with it, without the per-request sign-in work.
    ``absolute``: a full URL from ``BASE_URL`` (never from the request's Host)."""
    token = grants.issue("cadastre", g.collectivity, g.collectivity.territory())
    build = absolute_url if absolute else url_for
    url = build(endpoint, z=0, x=0, y=0, grant=token, **url_options)
    return url.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf", 1)


def tile_response(z: int, x: int, y: int) -> Response:
    """A vector tile of the territory's plan, from the cache of its vintage (``tilecache.py``): 404 for coordinates
    that do not exist, 204 No Content when nothing of the territory lies in the tile (Leaflet.VectorGrid draws it
    empty, no error), 304 when the browser already holds it (``ETag``); kept 5 minutes by the browser (per user)."""
    if not spatial.valid_tile(z, x, y):
        abort(404)
    data, etag = cached_tile(z, x, y)
    headers = {"Cache-Control": "private, max-age=300", "ETag": f'"{etag}"'}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    if not data:
        return Response(status=204, headers=headers)
    return Response(data, mimetype="application/vnd.mapbox-vector-tile", headers=headers)


@bp.get("/carte")
def map_document():
    selected = selected_parcel()
    return build_map(selected)


@bp.get("/tuiles/acces")
def tile_access():
    """A fresh tile URL template (grant) for the open map, which renews its grant before it expires."""
    return jsonify(url=tiles_template("cadastre.tile"), expires_in=grants.max_age())


@bp.get("/tuiles/<int:z>/<int:x>/<int:y>.pbf")
@grants.accepts_grant
def tile(z: int, x: int, y: int):
    return tile_response(z, x, y)
