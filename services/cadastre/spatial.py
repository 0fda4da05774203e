"""Spatial queries on both backends: bounding box, point, neighbours and Mapbox vector tiles.

Every ORM query here goes through the territory choke point (portal/tenancy.py). The one raw SQL query (PostGIS
``ST_AsMVT``) repeats the territory filter itself and is also bound by the row-level security policies.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import shapely
from sqlalchemy import Float, and_, bindparam, func, select, text

from portal.extensions import db
from portal.tenancy import current_territory, set_transaction_territory

from .geometry import SRID, WEB_MERCATOR, transformer
from .models import Feature, Parcel, Vintage

MVT_EXTENT = 4096
MVT_BUFFER = 64
# Smallest zoom at which each layer is put in tiles (a department's parcels at zoom 10 would not be readable).
MIN_ZOOM = {"commune": 8, "sections": 12, "parcelles": 14, "batiments": 15}
MAX_ZOOM = 22
WORLD = 20037508.342789244


def _postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def bbox_filter(model, minx, miny, maxx, maxy):
    """WHERE clause: rows of ``model`` whose box meets the Lambert-93 box (GiST on PostGIS, R*Tree on SQLite)."""
    cols = and_(model.maxx >= minx, model.minx <= maxx, model.maxy >= miny, model.miny <= maxy)
    if _postgres():
        env = func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
        return and_(model.geom.op("&&")(env), cols)
    rtree = f"{model.__tablename__}_rtree"
    ids = text(f"SELECT id FROM {rtree} WHERE maxx >= :rminx AND minx <= :rmaxx AND maxy >= :rminy "
               f"AND miny <= :rmaxy").bindparams(rminx=minx, rmaxx=maxx, rminy=miny, rmaxy=maxy)
    return and_(model.id.in_(ids), cols)


def parcels_in_bbox(minx, miny, maxx, maxy, limit: int | None = None):
    stmt = select(Parcel).where(Parcel.current.is_(True), bbox_filter(Parcel, minx, miny, maxx, maxy)) \
        .order_by(Parcel.idu)
    if limit:
        stmt = stmt.limit(limit)
    return db.session.scalars(stmt).all()


# The API's rows: one query per request (vintage label joined; on PostGIS the WGS84 GeoJSON is written by the database,
# elsewhere the Lambert-93 shape is reprojected here). Rows: (idu, commune, prefixe, section, numero, lieu_dit,
# contenance, area, vintage label, geometry: GeoJSON text on PostGIS, shapely in Lambert-93 otherwise).

@functools.cache
def _api_statements(postgres: bool):
    """(base select, by id, under a point) — built once per backend: every API call runs one of them."""
    geom = func.ST_AsGeoJSON(func.ST_Transform(Parcel.geom, 4326), 7) if postgres else Parcel.geom
    base = select(Parcel.idu, Parcel.commune_insee, Parcel.prefixe, Parcel.section, Parcel.numero, Parcel.lieu_dit,
                  Parcel.contenance, Parcel.area, Vintage.label, geom) \
        .join(Vintage, Parcel.vintage_id == Vintage.id).where(Parcel.current.is_(True))
    by_id = base.where(Parcel.idu == bindparam("idu"))
    at = None
    if postgres:
        pt = func.ST_SetSRID(func.ST_MakePoint(bindparam("x", type_=Float), bindparam("y", type_=Float)), SRID)
        at = base.where(func.ST_Covers(Parcel.geom, pt)).order_by(Parcel.idu).limit(1)
    return base, by_id, at


def _api_select():
    return _api_statements(_postgres())[0]


def api_parcel(idu: str):
    """The current parcel with this id, as an API row, or None."""
    return db.session.execute(_api_statements(_postgres())[1], {"idu": idu}).first()


def api_parcel_at(x: float, y: float):
    """The current parcel under a Lambert-93 point, as an API row, or None."""
    if _postgres():
        return db.session.execute(_api_statements(True)[2], {"x": x, "y": y}).first()
    point = shapely.Point(x, y)
    for row in db.session.execute(_api_select().where(bbox_filter(Parcel, x, y, x, y)).order_by(Parcel.idu)):
        if row[-1].covers(point):
            return row
    return None


def api_parcels_in_bbox(minx, miny, maxx, maxy, limit: int):
    return db.session.execute(_api_select().where(bbox_filter(Parcel, minx, miny, maxx, maxy)).order_by(Parcel.idu)
                              .limit(limit)).all()


def api_parcels(idus):
    """API rows of these parcels (current), ordered by id."""
    if not idus:
        return []
    return db.session.execute(_api_select().where(Parcel.idu.in_(list(idus))).order_by(Parcel.idu)).all()


def parcel_at(x: float, y: float):
    """The current parcel under a Lambert-93 point, or None."""
    pt = shapely.Point(x, y)
    for p in parcels_in_bbox(x, y, x, y):
        if p.geom.covers(pt):
            return p
    return None


def neighbours(parcel, buffer_m: float = 0.5):
    """Current parcels that touch ``parcel`` (within ``buffer_m`` metres), nearest first."""
    zone = parcel.geom.buffer(buffer_m)
    minx, miny, maxx, maxy = zone.bounds
    found = [p for p in parcels_in_bbox(minx, miny, maxx, maxy)
             if p.id != parcel.id and p.geom.intersects(zone)]
    return sorted(found, key=lambda p: (p.geom.distance(parcel.geom), p.idu))


def buildings_on(parcel):
    """Buildings whose surface lies mostly in the parcel."""
    minx, miny, maxx, maxy = parcel.geom.bounds
    rows = db.session.scalars(select(Feature).where(
        Feature.current.is_(True), Feature.layer == "batiment", bbox_filter(Feature, minx, miny, maxx, maxy))).all()
    out = []
    for b in rows:
        inter = b.geom.intersection(parcel.geom).area
        if b.area and inter / b.area > 0.5:
            out.append(b)
    return out


# Tiles -----------------------------------------------------------------------------------------------------------

def tile_bounds_3857(z: int, x: int, y: int):
    size = 2 * WORLD / (1 << z)
    minx = -WORLD + x * size
    maxy = WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def tile_bbox_l93(z, x, y, margin: float = MVT_BUFFER / MVT_EXTENT):
    minx, miny, maxx, maxy = tile_bounds_3857(z, x, y)
    pad = (maxx - minx) * margin
    t = transformer(WEB_MERCATOR, SRID)
    xs, ys = t.transform([minx - pad, maxx + pad, minx - pad, maxx + pad], [miny - pad, miny - pad, maxy + pad, maxy + pad])
    return min(xs), min(ys), max(xs), max(ys)


def valid_tile(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)


def tile(z: int, x: int, y: int) -> bytes:
    if not valid_tile(z, x, y) or z < min(MIN_ZOOM.values()):
        return b""
    return _tile_postgis(z, x, y) if _postgres() else _tile_python(z, x, y)


def _layers_for(z):
    return [name for name, mz in MIN_ZOOM.items() if z >= mz]


_FEATURE_LAYER = {"commune": "commune", "sections": "section", "batiments": "batiment"}


def tile_query(z: int, x: int, y: int, codes) -> tuple[str, dict] | None:
    """The PostGIS statement of a tile (one ``ST_AsMVT`` per layer shown at this zoom, concatenated) and its
    parameters, in the driver's ``%(name)s`` style; ``codes``: the territory's INSEE codes, None for all. None when
    no layer is shown at this zoom. ``bench/cadastre.py`` times the same statement from a bare driver connection."""
    params = {"z": z, "x": x, "y": y, "codes": sorted(codes or []), "all": codes is None}
    scope = "(%(all)s OR t.commune_insee = ANY(%(codes)s))"
    env = "ST_Transform(ST_TileEnvelope(%%(z)s, %%(x)s, %%(y)s, margin => %f), %d)" % (MVT_BUFFER / MVT_EXTENT, SRID)
    parts = []
    for name in _layers_for(z):
        if name == "parcelles":
            cols, table, where = "t.idu AS id", "cadastre_parcel", "TRUE"
        else:
            cols = "t.label AS label" if name == "sections" else "t.id AS fid"
            table, where = "cadastre_feature", f"t.layer = '{_FEATURE_LAYER[name]}'"
        parts.append(
            f"(SELECT ST_AsMVT(q, '{name}', {MVT_EXTENT}, 'geom') FROM ("
            f"SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), {MVT_EXTENT}, "
            f"{MVT_BUFFER}, true) AS geom, {cols} FROM {table} t "
            f"WHERE t.current AND {where} AND {scope} AND t.geom && {env}) q)")
    if not parts:
        return None
    return "SELECT " + " || ".join(f"coalesce({p}, ''::bytea)" for p in parts), params


def _tile_postgis(z, x, y) -> bytes:
    territory = current_territory()
    query = tile_query(z, x, y, None if territory is None else territory)
    if query is None:
        return b""
    session = db.session()
    if session.in_transaction():
        # A transaction of the request is open (the plan version was just read, or the caller holds uncommitted
        # rows): the tile is read in it, where portal.tenancy already set the territory that row-level security reads.
        row = session.connection().connection.driver_connection.execute(*query).fetchone()
        return bytes(row[0] or b"") if row else b""
    # Otherwise (the usual cold tile: the plan version is known) a transaction of its own on a pooled connection,
    # as bench/tile_floor.py sends it: portal.tenancy's territory setting, the statement, COMMIT — without the
    # session's transaction machinery (begin and its events, the read-only check and commit at the request's end),
    # which cost more than the statements here.
    pooled = db.engine.raw_connection()  # through the pool's checkout: the idle-connection ping still applies
    try:
        conn = pooled.driver_connection
        set_transaction_territory(conn, territory)
        row = conn.execute(*query).fetchone()
        conn.commit()  # not a rollback: psycopg would forget its prepared statements (portal/dbpool.py)
    finally:
        pooled.close()  # back to the pool; after a failed statement the pool's reset rolls it back
    return bytes(row[0] or b"") if row else b""


def _tile_python(z, x, y) -> bytes:
    """R*Tree search, then vectorised reprojection and scaling to tile pixels (numpy), clipping and winding order
    (shapely) and protobuf encoding (mapbox-vector-tile, given pixel coordinates so that it does no per-point Python
    work)."""
    return encode_tile(tile_layers(z, x, y))


def tile_layers(z, x, y) -> list[tuple[str, np.ndarray, list[dict]]]:
    """The layers of a tile for the embedded default: [(name, shapes in tile pixels clipped to the buffer, properties)]."""
    bx0, by0, bx1, by1 = tile_bounds_3857(z, x, y)
    minx, miny, maxx, maxy = tile_bbox_l93(z, x, y)
    scale = MVT_EXTENT / (bx1 - bx0)
    to_merc = transformer(SRID, WEB_MERCATOR)

    def to_pixels(xy):
        mx, my = to_merc.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([(np.asarray(mx) - bx0) * scale, (np.asarray(my) - by0) * scale])

    clip = shapely.box(-MVT_BUFFER, -MVT_BUFFER, MVT_EXTENT + MVT_BUFFER, MVT_EXTENT + MVT_BUFFER)
    layers = []
    for name in _layers_for(z):
        if name == "parcelles":
            rows = db.session.execute(select(Parcel.idu, Parcel.geom).where(
                Parcel.current.is_(True), bbox_filter(Parcel, minx, miny, maxx, maxy))).all()
            props = [{"id": r[0]} for r in rows]
        else:
            rows = db.session.execute(select(Feature.label, Feature.geom, Feature.id).where(
                Feature.current.is_(True), Feature.layer == _FEATURE_LAYER[name],
                bbox_filter(Feature, minx, miny, maxx, maxy))).all()
            props = [{"label": r[0]} if name == "sections" else {"fid": r[2]} for r in rows]
        if rows:
            geoms = shapely.transform(np.asarray([r[1] for r in rows], dtype=object), to_pixels)
            layers.append((name, shapely.intersection(geoms, clip), props))
    return layers


def encode_tile(layers, library_winding: bool = False) -> bytes:
    """Mapbox vector tile of ``tile_layers``. mapbox-vector-tile's own winding-order check takes one shape at a time
    in Python (two thirds of the encoding time); it is done here for all shapes at once instead — coordinates on the
    pixel grid, exterior rings clockwise with the y axis up (the encoder flips it), holes the other way — giving the
    same bytes (``library_winding=True`` leaves it to the library: tests/services/cadastre/test_pages.py)."""
    import mapbox_vector_tile

    out = []
    for name, shapes, props in layers:
        if not library_winding:
            shapes = shapely.orient_polygons(shapely.transform(shapes, np.round), exterior_cw=True)
        feats = [{"geometry": g, "properties": p} for g, p in zip(shapes, props) if not g.is_empty]
        if feats:
            out.append({"name": name, "features": feats})
    if not out:
        return b""
    return mapbox_vector_tile.encode(out, default_options={"extents": MVT_EXTENT, "y_coord_down": False,
                                                          "check_winding_order": library_winding})


def zoom_for_bounds(minlon, minlat, maxlon, maxlat) -> int:
    span = max(maxlon - minlon, (maxlat - minlat) * 1.5, 1e-6)
    return max(8, min(19, int(math.log2(360 / span))))
