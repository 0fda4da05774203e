"""Geometry storage on both backends.

- PostgreSQL + PostGIS: a real ``geometry(MultiPolygon, 2154)`` column with a GiST index (created by the migration).
- Embedded SQLite: the same geometry as a WKB blob; a bounding-box search goes through SQLite's built-in R*Tree
  virtual table ``cadastre_parcel_rtree`` (and ``cadastre_feature_rtree``), filled by the importer.

Python always sees shapely geometries in Lambert-93 (EPSG:2154): the type converts to and from WKB, and on PostGIS
the SQL expressions ``ST_GeomFromWKB(…, 2154)`` / ``ST_AsBinary(…)`` do the conversion in the database.
"""
from __future__ import annotations

import shapely
from sqlalchemy import LargeBinary, func
from sqlalchemy.types import TypeDecorator, UserDefinedType

SRID = 2154  # Lambert-93: storage, areas, distances
WGS84 = 4326
WEB_MERCATOR = 3857


class _WKBResult(TypeDecorator):
    """The type of ``ST_AsBinary(geom)`` in a SELECT: WKB bytes → shapely geometry."""

    impl = LargeBinary
    cache_ok = True

    def process_result_value(self, value, dialect):
        return None if value is None else shapely.from_wkb(bytes(value))


class _PostGISMultiPolygon(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return f"geometry(MULTIPOLYGON,{SRID})"

    def bind_expression(self, bindvalue):
        return func.ST_GeomFromWKB(bindvalue, SRID, type_=self)

    def column_expression(self, col):
        return func.ST_AsBinary(col, type_=_WKBResult())


class MultiPolygonType(TypeDecorator):
    """A MultiPolygon in Lambert-93: PostGIS geometry on PostgreSQL, WKB blob elsewhere."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostGISMultiPolygon())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, (bytes, memoryview)):
            return bytes(value)
        return shapely.to_wkb(as_multipolygon(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return shapely.from_wkb(bytes(value))


def as_multipolygon(geom):
    """Polygon → MultiPolygon; a GeometryCollection keeps its polygonal parts."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = []
    for p in parts:
        polys.extend(p.geoms if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


_transformers: dict = {}


def transformer(src: int, dst: int):
    from pyproj import Transformer

    key = (src, dst)
    if key not in _transformers:
        _transformers[key] = Transformer.from_crs(src, dst, always_xy=True)
    return _transformers[key]


def reproject(geom, src: int, dst: int):
    if src == dst or geom is None:
        return geom
    t = transformer(src, dst)
    return shapely.transform(geom, lambda xy: _tx(t, xy))


def _tx(t, xy):
    import numpy as np

    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def to_wgs84(geom):
    return reproject(geom, SRID, WGS84)


def point_to_l93(lon: float, lat: float):
    return transformer(WGS84, SRID).transform(lon, lat)


def bbox_to_l93(minlon, minlat, maxlon, maxlat):
    """The Lambert-93 envelope of a WGS84 box (corners and edge midpoints, so the envelope covers it)."""
    t = transformer(WGS84, SRID)
    xs, ys = [], []
    for lon in (minlon, (minlon + maxlon) / 2, maxlon):
        for lat in (minlat, (minlat + maxlat) / 2, maxlat):
            x, y = t.transform(lon, lat)
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)
