"""JSON API of the land registry, at /api/v1/cadastre/ (same gate and territory rules as the pages).

GeoJSON in WGS84 (RFC 7946); a parcel of another territory answers 404, like a parcel that does not exist.
"""
from __future__ import annotations

import json
import math

from flask import Blueprint, Response, g, jsonify, request, url_for

from portal.api import register_paths
from portal.urls import absolute_url
from portal import grants

from . import spatial
from .geometry import bbox_to_l93, point_to_l93, to_wgs84

api_bp = Blueprint("cadastre_api", __name__)

BBOX_LIMIT = 5000
MAX_BBOX_DEGREES = 0.5  # a box larger than this (about 50 km) is refused: use the tiles


def _error(status: int, message: str):
    return jsonify(error={400: "Bad Request", 404: "Not Found"}.get(status, "Error"), status=status,
                   message=message), status


def feature(row) -> dict:
    """GeoJSON Feature of an API row (``spatial.api_*``)."""
    idu, commune, prefixe, section, numero, lieu_dit, contenance, area, label, geom = row
    return {
        "type": "Feature",
        "id": idu,
        "geometry": json.loads(geom) if isinstance(geom, str) else to_wgs84(geom).__geo_interface__,
        "properties": {
            "id": idu, "commune": commune, "prefixe": prefixe, "section": section,
            "numero": numero, "lieu_dit": lieu_dit, "contenance": contenance,
            "surface_calculee": round(area, 1), "millesime": label,
        },
    }


def collection(rows, **extra) -> dict:
    return {"type": "FeatureCollection", "features": [feature(r) for r in rows], **extra}


def _floats(names):
    out = []
    for n in names:
        raw = request.args.get(n, "")
        try:
            v = float(raw)
        except ValueError:
            return None
        if not math.isfinite(v):
            return None
        out.append(v)
    return out


@api_bp.get("/parcels")
def parcels():
    if "bbox" in request.args:
        try:
            minlon, minlat, maxlon, maxlat = (float(v) for v in request.args["bbox"].split(","))
        except ValueError:
            return _error(400, "bbox must be minlon,minlat,maxlon,maxlat (WGS84 degrees)")
        if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
            return _error(400, "bbox must be minlon,minlat,maxlon,maxlat with min < max, in WGS84 degrees")
        if maxlon - minlon > MAX_BBOX_DEGREES or maxlat - minlat > MAX_BBOX_DEGREES:
            return _error(400, f"bbox larger than {MAX_BBOX_DEGREES}°: use the vector tiles for large areas")
        found = spatial.api_parcels_in_bbox(*bbox_to_l93(minlon, minlat, maxlon, maxlat), limit=BBOX_LIMIT + 1)
        return jsonify(collection(found[:BBOX_LIMIT], truncated=len(found) > BBOX_LIMIT))
    if "lon" in request.args or "lat" in request.args:
        values = _floats(("lon", "lat"))
        if values is None or not (-180 <= values[0] <= 180 and -90 <= values[1] <= 90):
            return _error(400, "lon and lat must be WGS84 degrees")
        row = spatial.api_parcel_at(*point_to_l93(*values))
        return jsonify(collection([row] if row else []))
    return _error(400, "give bbox=minlon,minlat,maxlon,maxlat or lon=…&lat=…")


@api_bp.get("/parcels/<idu>")
def parcel(idu: str):
    from .views import IDU_FULL

    idu = (idu or "").strip().upper()
    row = spatial.api_parcel(idu) if IDU_FULL.match(idu) else None
    if row is None:
        return _error(404, "no such parcel in your territory")
    return jsonify(feature(row))


@api_bp.get("/parcels/<idu>/neighbours")
def parcel_neighbours(idu: str):
    from .views import current_parcel_or_404

    p = current_parcel_or_404(idu)
    values = _floats(("distance",)) if "distance" in request.args else [0.5]
    if values is None or not 0 <= values[0] <= 50:
        return _error(400, "distance must be a number of metres between 0 and 50")
    order = {n.idu: k for k, n in enumerate(spatial.neighbours(p, values[0]))}  # nearest first
    found = sorted(spatial.api_parcels(order), key=lambda r: order[r[0]])
    return jsonify(collection(found, parcel=p.idu, distance=values[0]))


def tiles_template(endpoint: str, *, absolute: bool = False, **url_options) -> str:
    """URL template ``…/{z}/{x}/{y}.pbf?grant=…`` of the tiles of ``endpoint`` with a fresh grant of the active
    collectivity (portal.grants): a map fetches its tiles with it, without the per-request sign-in work."""
    token = grants.issue("cadastre", g.collectivity, g.collectivity.territory())
    build = absolute_url if absolute else url_for
    url = build(endpoint, z=0, x=0, y=0, grant=token, **url_options)
    return url.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf", 1)


@api_bp.get("/tiles")
def tilejson():
    """TileJSON 3.0.0 of the plan's vector tiles for the active collectivity, with a signed tile URL template."""
    return jsonify({
        "tilejson": "3.0.0", "name": "cadastre", "scheme": "xyz", "minzoom": min(spatial.MIN_ZOOM.values()),
        "maxzoom": spatial.MAX_ZOOM,
        "tiles": [tiles_template("cadastre_api.tile", absolute=True)],
        "vector_layers": [{"id": name, "minzoom": zoom, "maxzoom": spatial.MAX_ZOOM,
                           "fields": {"parcelles": {"id": "String"}, "sections": {"label": "String"},
                                      "batiments": {"fid": "Number"}}.get(name, {})}
                          for name, zoom in spatial.MIN_ZOOM.items()],
        "expires_in": grants.max_age(),
    })


@api_bp.get("/tiles/<int:z>/<int:x>/<int:y>.pbf")
@grants.accepts_grant
def tile(z: int, x: int, y: int):
    data = spatial.tile(z, x, y)
    if not data:
        return _error(404, "no data of your territory in this tile")
    return Response(data, mimetype="application/vnd.mapbox-vector-tile",
                    headers={"Cache-Control": "private, max-age=300"})  # as the map's tiles: per user, 5 minutes


_PARCEL_SCHEMA = {"type": "object", "description": "GeoJSON Feature (WGS84); properties: id (14 characters), "
                  "commune, prefixe, section, numero, lieu_dit, contenance (DGFiP area, m²), surface_calculee "
                  "(computed area, m²), millesime (vintage YYYY-MM)"}
_FC = {"type": "object", "description": "GeoJSON FeatureCollection of parcels"}
_ID = {"name": "idu", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9A-Z]{14}$"},
       "description": "14-character parcel id, e.g. 25354000AB0001"}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


register_paths({
    "/cadastre/parcels": {"get": {
        "summary": "Parcels in a box, or the parcel under a point",
        "tags": ["cadastre"],
        "parameters": [
            {"name": "bbox", "in": "query", "schema": {"type": "string"},
             "description": "minlon,minlat,maxlon,maxlat (WGS84), at most 0.5° a side; at most 5000 parcels"},
            {"name": "lon", "in": "query", "schema": {"type": "number"}},
            {"name": "lat", "in": "query", "schema": {"type": "number"}},
        ],
        "responses": {"200": {"description": "parcels", **_json(_FC)}, "400": {"description": "bad parameters"}},
    }},
    "/cadastre/parcels/{idu}": {"get": {
        "summary": "One parcel of your territory", "tags": ["cadastre"], "parameters": [_ID],
        "responses": {"200": {"description": "the parcel", **_json(_PARCEL_SCHEMA)},
                      "404": {"description": "no such parcel in your territory"}},
    }},
    "/cadastre/parcels/{idu}/neighbours": {"get": {
        "summary": "Parcels touching a parcel (within a distance)", "tags": ["cadastre"],
        "parameters": [_ID, {"name": "distance", "in": "query", "schema": {"type": "number", "minimum": 0,
                                                                           "maximum": 50, "default": 0.5}}],
        "responses": {"200": {"description": "neighbouring parcels", **_json(_FC)},
                      "404": {"description": "no such parcel in your territory"}},
    }},
    "/cadastre/tiles": {"get": {
        "summary": "TileJSON of the plan's vector tiles, with a signed tile URL template (grant) for a map client",
        "description": "The template's `grant` parameter stands for your token and active collectivity on the tile "
                       "URLs only, for `expires_in` seconds (the territory at the time it was issued): fetch a new "
                       "TileJSON before then.",
        "tags": ["cadastre"],
        "responses": {"200": {"description": "TileJSON 3.0.0", **_json({"type": "object"})}},
    }},
    "/cadastre/tiles/{z}/{x}/{y}.pbf": {"get": {
        "summary": "Mapbox vector tile of the plan (layers commune, sections, parcelles with id, batiments)",
        "description": "Authenticated as every call, or with the `grant` of a TileJSON (then without a token).",
        "tags": ["cadastre"],
        "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
                       for n in ("z", "x", "y")] + [
            {"name": "grant", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "signed grant from GET /cadastre/tiles (403 when expired or not valid)"}],
        "responses": {"200": {"description": "tile",
                              "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string",
                                                                                            "format": "binary"}}}},
                      "403": {"description": "grant expired or not valid"},
                      "404": {"description": "nothing of your territory in this tile"}},
    }},
})
