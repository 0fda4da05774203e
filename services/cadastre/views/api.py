"""JSON API of the land registry, at /api/v1/cadastre/ (same gate and territory rules as the pages).

GeoJSON in WGS84 (RFC 7946); a parcel of another territory answers 404, like a parcel that does not exist.
"""
from __future__ import annotations

import json
import math

from flask import Blueprint, jsonify, request


from portal import grants

from .. import spatial
from ..access import IDU_FULL, current_parcel_or_404
from ..geometry import bbox_to_l93, point_to_l93, to_wgs84

from .maps import tile_response, tiles_template

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
    idu = (idu or "").strip().upper()
    row = spatial.api_parcel(idu) if IDU_FULL.match(idu) else None
    if row is None:
        return _error(404, "no such parcel in your territory")
    return jsonify(feature(row))


@api_bp.get("/parcels/<idu>/neighbours")
def parcel_neighbours(idu: str):
    p = current_parcel_or_404(idu)
    values = _floats(("distance",)) if "distance" in request.args else [0.5]
    if values is None or not 0 <= values[0] <= 50:
        return _error(400, "distance must be a number of metres between 0 and 50")
    order = {n.idu: k for k, n in enumerate(spatial.neighbours(p, values[0]))}  # nearest first
    found = sorted(spatial.api_parcels(order), key=lambda r: order[r[0]])
    return jsonify(collection(found, parcel=p.idu, distance=values[0]))


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
    return tile_response(z, x, y)
