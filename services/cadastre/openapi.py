"""The land registry's part of the OpenAPI document (/api/v1/openapi.json), declared by its descriptor."""
from __future__ import annotations

_PARCEL_SCHEMA = {"type": "object", "description": "GeoJSON Feature (WGS84); properties: id (14 characters), "
                  "commune, prefixe, section, numero, lieu_dit, contenance (DGFiP area, m²), surface_calculee "
                  "(computed area, m²), millesime (vintage YYYY-MM)"}
_FC = {"type": "object", "description": "GeoJSON FeatureCollection of parcels"}
_ID = {"name": "idu", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9A-Z]{14}$"},
       "description": "14-character parcel id, e.g. 25354000AB0001"}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


OPENAPI = {"paths": {
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
                      "204": {"description": "nothing of your territory in this tile"},
                      "404": {"description": "no such tile (zoom or coordinates out of range)"}},
    }},
}}
