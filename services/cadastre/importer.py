"""Import of a commune's cadastral plan (issue #3): Etalab GeoJSON, DGFiP EDIGEO sheets, any file pyogrio reads.

One call imports one commune as one new **vintage**, all-or-nothing: every file is read and checked first; any
error (truncated gzip, not a FeatureCollection, wrong CRS, duplicate ids, empty file, EDIGEO archive missing part of
a sheet, commune unknown or outside the caller's territory…) raises :class:`ImportFailed` with one message per
problem and leaves the database exactly as before. On success the new vintage replaces the current one in the same
transaction and the report counts parcels added, removed, reshaped and renumbered against it.

Messages are English here (CLI log); the page that starts an import translates them with the same msgids.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import gzip
import io
import json
import logging
import os
import re
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, insert, select, text, update

from portal.extensions import db

from .geometry import SRID, WGS84, as_multipolygon
from .problems import N_
from .models import Feature, Parcel, Vintage

log = logging.getLogger(__name__)

LAYERS = ("parcelles", "batiments", "sections", "lieux_dits", "communes")
EDIGEO_LAYERS = {"PARCELLE_id": "parcelles", "BATIMENT_id": "batiments", "SECTION_id": "sections",
                 "LIEUDIT_id": "lieux_dits", "COMMUNE_id": "communes"}
FEATURE_LAYER = {"batiments": "batiment", "sections": "section", "lieux_dits": "lieu_dit", "communes": "commune"}
EDIGEO_PARTS = (".THF", ".GEN", ".GEO", ".DIC", ".SCD", ".QAL")
VINTAGE_RE = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
IDU_RE = re.compile(r"^(\d[\dAB]\d{3})([0-9]{3})([0-9A-Z]{2})(\d{4})$")
# Beyond this, an id kept from one vintage to the next is "reshaped": the symmetric difference of the two shapes.
RESHAPE_TOLERANCE_M2 = 1.0
RESHAPE_TOLERANCE_RATIO = 0.001


class ImportFailed(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Report:
    commune: str = ""
    vintage: str = ""
    source: str = ""
    files: list[str] = field(default_factory=list)
    parcels: int = 0
    features: dict = field(default_factory=dict)
    repaired: int = 0
    unrepairable: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    reshaped: int = 0
    renumbered: int = 0
    previous_vintage: str | None = None
    current: bool = True
    renumbered_pairs: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}

    def lines(self) -> list[str]:
        out = [f"commune {self.commune}, vintage {self.vintage} ({self.source}): {self.parcels} parcels"
               + ("" if self.current else " (older than the current vintage: kept for comparison, not current)")]
        for layer, n in sorted(self.features.items()):
            out.append(f"  {layer}: {n}")
        out.append(f"  invalid geometries repaired: {self.repaired}")
        if self.unrepairable:
            out.append(f"  parcels left out, geometry beyond repair: {', '.join(self.unrepairable)}")
        if self.previous_vintage:
            out.append(f"  against vintage {self.previous_vintage}: {self.added} added, {self.removed} removed, "
                       f"{self.reshaped} reshaped, {self.renumbered} renumbered")
        else:
            out.append("  first vintage of this commune")
        return out


# Reading -----------------------------------------------------------------------------------------------------------

def _layer_from_name(name: str) -> str | None:
    low = name.lower()
    for layer in LAYERS:
        if layer in low or layer.rstrip("s") in low:
            return layer
    if "lieudit" in low or "lieu-dit" in low:
        return "lieux_dits"
    return None


def _read_geojson(path: Path, errors: list[str]) -> list[tuple[str, object]]:
    import geopandas as gpd

    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            errors.append(N_("%(file)s: the gzip file is damaged or truncated (%(detail)s)", file=path.name, detail=str(exc)))
            return []
    if not raw.strip():
        errors.append(N_("%(file)s: the file is empty", file=path.name))
        return []
    try:
        doc = _parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        errors.append(N_("%(file)s: not valid JSON (%(detail)s)", file=path.name, detail=str(exc)))
        return []
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        errors.append(N_("%(file)s: not a GeoJSON FeatureCollection", file=path.name))
        return []
    if not doc["features"]:
        errors.append(N_("%(file)s: the FeatureCollection has no feature", file=path.name))
        return []
    crs_name = ((doc.get("crs") or {}).get("properties") or {}).get("name", "")
    epsg = WGS84
    if crs_name:
        m = re.search(r"EPSG:+(\d+)$", crs_name.replace("::", ":"))
        if m:
            epsg = int(m.group(1))
        elif "CRS84" not in crs_name:
            errors.append(N_("%(file)s: unsupported CRS %(crs)r", file=path.name, crs=crs_name))
            return []
    try:
        gdf = _fast_frame(raw, doc["features"], epsg)
        if gdf is None:
            gdf = gpd.GeoDataFrame.from_features(doc["features"], crs=epsg)
    except Exception as exc:  # noqa: BLE001 - any malformed feature
        errors.append(N_("%(file)s: malformed features (%(detail)s)", file=path.name, detail=str(exc)))
        return []
    layer = _layer_from_name(path.name) or _guess_layer(gdf)
    if layer is None:
        errors.append(N_("%(file)s: cannot tell which layer this is (parcelles, batiments, sections, lieux_dits, "
                         "communes): put the layer name in the file name", file=path.name))
        return []
    if not _coordinates_fit(gdf, epsg):
        errors.append(N_("%(file)s: the coordinates do not fit the declared CRS (EPSG:%(epsg)s); "
                         "GeoJSON without a 'crs' member must be WGS84 longitude/latitude", file=path.name, epsg=epsg))
        return []
    return [(layer, gdf)]


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector over a bulk step. Parsing a commune's plan creates hundreds of thousands of
    lists (coordinates) and thousands of geometries, none of them in a reference cycle; each batch of allocations
    sets off a collection that scans them all again, which made up about half the time of reading a file."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_json(raw: bytes):
    """The document, parsed by orjson (C; a few times faster than the standard library on a commune's plan).
    Anything orjson refuses is given to the standard library, whose message is the one reported when the file
    really is not JSON."""
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # NaN, integers beyond 64 bits… or the standard library's error message


def _fast_frame(raw: bytes, features: list, epsg: int):
    """The same frame as ``GeoDataFrame.from_features`` for plain polygon features, the geometries parsed at once by
    GEOS (C++) instead of one shapely object per feature in Python. None when the file needs the general path (null
    or non-polygonal geometry, a property called "geometry", anything GEOS reads differently)."""
    import geopandas as gpd

    props = []
    for f in features:
        if not isinstance(f, dict):
            return None
        g = f.get("geometry")
        if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
            return None
        props.append(f.get("properties") or {})
    try:
        geoms = shapely.get_parts(shapely.from_geojson(raw))
    except Exception:  # noqa: BLE001 - the general path reports the problem
        return None
    if len(geoms) != len(features) or not np.all(np.isin(shapely.get_type_id(geoms), (3, 6))):
        return None
    frame = pd.DataFrame.from_records(props) if any(props) else pd.DataFrame(index=range(len(features)))
    if "geometry" in frame.columns or len(frame) != len(features):
        return None
    frame.insert(0, "geometry", gpd.GeoSeries(geoms, crs=epsg))
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=epsg)


def _coordinates_fit(gdf, epsg: int) -> bool:
    minx, miny, maxx, maxy = gdf.total_bounds
    if epsg == WGS84:
        return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    if epsg == SRID:
        return -400_000 <= minx <= maxx <= 1_400_000 and 6_000_000 <= miny <= maxy <= 7_200_000
    return True


def _guess_layer(gdf) -> str | None:
    cols = {c.lower() for c in gdf.columns}
    if {"section", "numero"} <= cols or "idu" in cols and "supf" in cols:
        return "parcelles"
    return None


def _read_edigeo(path: Path, errors: list[str]) -> list[tuple[str, object]]:
    import pyogrio

    out = []
    with tempfile.TemporaryDirectory(prefix="edigeo-") as tmp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            errors.append(N_("%(file)s: the archive is damaged or truncated (%(detail)s)", file=path.name, detail=str(exc)))
            return []
        files = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs]
        thfs = [f for f in files if f.upper().endswith(".THF")]
        if not thfs:
            errors.append(N_("%(file)s: no EDIGEO sheet in the archive (no .THF file)", file=path.name))
            return []
        sheet = re.search(r"(\d{2}[\dAB]\d{2}\d{3}[0-9A-Z]{2}\d{2})", path.name)
        for thf in thfs:
            present = {Path(f).suffix.upper() for f in files if Path(f).parent == Path(thf).parent}
            missing = [s for s in EDIGEO_PARTS if s not in present] + ([] if ".VEC" in present else [".VEC"])
            if missing:
                errors.append(N_("%(file)s: the EDIGEO sheet %(sheet)s is incomplete (missing %(parts)s files)",
                                  file=path.name, sheet=Path(thf).name, parts=", ".join(missing)))
                continue
            try:
                available = {name for name, _ in pyogrio.list_layers(thf)}
            except Exception as exc:  # noqa: BLE001 - GDAL error
                errors.append(N_("%(file)s: GDAL cannot read the EDIGEO sheet (%(detail)s)", file=path.name, detail=str(exc)))
                continue
            if "PARCELLE_id" not in available:
                errors.append(N_("%(file)s: the EDIGEO sheet has no parcel layer", file=path.name))
                continue
            for ed_layer, layer in EDIGEO_LAYERS.items():
                if ed_layer not in available:
                    continue
                gdf = pyogrio.read_dataframe(thf, layer=ed_layer)
                if gdf.crs is None:
                    gdf = gdf.set_crs(SRID)
                if sheet is not None:
                    gdf["feuille"] = sheet.group(1)
                out.append((layer, gdf))
    return out


def _read_ogr(path: Path, errors: list[str]) -> list[tuple[str, object]]:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001
        errors.append(N_("%(file)s: not a readable geographic file (%(detail)s)", file=path.name, detail=str(exc)))
        return []
    out = []
    for name, _ in layers:
        layer = _layer_from_name(name) or _layer_from_name(path.name)
        if layer is None:
            continue
        gdf = pyogrio.read_dataframe(path, layer=name)
        if gdf.crs is None:
            errors.append(N_("%(file)s: layer %(layer)s declares no CRS", file=path.name, layer=name))
            continue
        out.append((layer, gdf))
    if not out and not errors:
        errors.append(N_("%(file)s: no layer named like parcelles, batiments, sections, lieux_dits or communes", file=path.name))
    return out


_L93 = None


def _is_lambert93(crs) -> bool:
    """CRS equality without pyproj's slow EPSG look-up (EDIGEO's LAMB93 comes as a custom WKT)."""
    global _L93
    from pyproj import CRS

    if _L93 is None:
        _L93 = CRS.from_epsg(SRID)
    return crs is not None and (crs == _L93 or crs.equals(_L93, ignore_axis_order=True))


def read_files(paths) -> tuple[dict[str, list], str, list[str]]:
    """{layer: [GeoDataFrame in Lambert-93, …]}, the source kind, and the errors."""
    errors: list[str] = []
    layers: dict[str, list] = {}
    kinds = set()
    for p in paths:
        path = Path(p)
        if not path.is_file():
            errors.append(N_("%(file)s: no such file", file=str(path)))
            continue
        if path.stat().st_size == 0:
            errors.append(N_("%(file)s: the file is empty", file=path.name))
            continue
        name = path.name.lower()
        if name.endswith((".tar.bz2", ".tbz2", ".tar.gz", ".tgz", ".tar")):
            kinds.add("edigeo")
            found = _read_edigeo(path, errors)
        elif name.endswith((".json", ".json.gz", ".geojson", ".geojson.gz")):
            kinds.add("etalab")
            found = _read_geojson(path, errors)
        else:
            kinds.add("ogr")
            found = _read_ogr(path, errors)
        for layer, gdf in found:
            if len(gdf) == 0:
                errors.append(N_("%(file)s: layer %(layer)s is empty", file=path.name, layer=layer))
                continue
            layers.setdefault(layer, []).append(gdf if _is_lambert93(gdf.crs) else gdf.to_crs(SRID))
    if not errors and "parcelles" not in layers:
        errors.append(N_("no parcel layer among the files (a 'parcelles' GeoJSON, an EDIGEO sheet, or a layer named "
                         "parcelles)"))
    source = kinds.pop() if len(kinds) == 1 else "mixed"
    return layers, source, errors


# Normalising -------------------------------------------------------------------------------------------------------

def _col(gdf, *names):
    lower = {c.lower(): c for c in gdf.columns}
    for n in names:
        if n.lower() in lower:
            return gdf[lower[n.lower()]]
    return None


def parcel_ids(gdf, commune: str | None) -> pd.Series:
    """14-character ids: Etalab ``id``; EDIGEO's 12-character ``IDU`` completed with the département code."""
    ids = _col(gdf, "id", "idu")
    if ids is None:
        parts = [_col(gdf, n) for n in ("commune", "prefixe", "section", "numero")]
        if any(p is None for p in parts):
            raise ImportFailed([N_("the parcel layer has no id column (id, IDU, or commune+prefixe+section+numero)")])
        return (parts[0].astype(str) + parts[1].astype(str).str.zfill(3) + parts[2].astype(str).str.zfill(2)
                + parts[3].astype(str).str.zfill(4))
    ids = ids.astype(str).str.strip().str.upper()
    short = ids.str.len() == 12
    if short.any():
        feuille = _col(gdf, "feuille")
        if feuille is not None:
            dept = feuille.astype(str).str[:2]
        elif commune:
            dept = pd.Series(commune[:2], index=gdf.index)
        else:
            raise ImportFailed([N_("EDIGEO ids have 12 characters: give the commune (--commune INSEE) so that they can "
                                   "be completed with the département code")])
        ids = ids.where(~short, dept + ids)
    return ids


def normalise_parcels(frames, commune: str | None):
    import geopandas as gpd

    gdf = pd.concat(frames, ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=SRID)
    ids = parcel_ids(gdf, commune)
    bad = sorted(set(ids[~ids.str.match(IDU_RE)]))
    if bad:
        raise ImportFailed([N_("malformed parcel ids: %(ids)s", ids=", ".join(bad[:20]) + (" …" if len(bad) > 20 else ""))])
    parts = ids.str.extract(IDU_RE)
    out = pd.DataFrame({"idu": ids, "commune_insee": parts[0], "prefixe": parts[1], "section": parts[2].str.lstrip("0").str.rjust(2, "0"),
                        "numero": parts[3]})
    out["section"] = parts[2]
    contenance = _col(gdf, "contenance", "supf")
    out["contenance"] = pd.to_numeric(contenance, errors="coerce").round() if contenance is not None else np.nan
    updated = _col(gdf, "updated", "update_date")
    out["updated"] = updated.astype(str) if updated is not None else ""
    out["geometry"] = gdf.geometry.values
    dup = out["idu"][out["idu"].duplicated()]
    if len(dup):
        # EDIGEO sheets of one section may repeat a parcel cut by the sheet border: merge identical ids only when
        # they come from different sheets; within one file a repeated id is an error.
        feuille = _col(gdf, "feuille")
        if feuille is not None and not pd.DataFrame({"i": out["idu"], "f": feuille}).duplicated().any():
            merged = out.groupby("idu", sort=False).agg({"commune_insee": "first", "prefixe": "first",
                                                         "section": "first", "numero": "first",
                                                         "contenance": "first", "updated": "max",
                                                         "geometry": lambda g: shapely.union_all(list(g))})
            out = merged.reset_index()
        else:
            raise ImportFailed([N_("duplicate parcel ids: %(ids)s", ids=", ".join(sorted(set(dup))[:20]))])
    return out


def repair(geoms, ids) -> tuple[list, int, list[str]]:
    """make_valid the invalid shapes; keep polygonal parts. → (multipolygons or None, repaired count, lost ids)."""
    arr = np.asarray(geoms, dtype=object)
    if len(arr) and not any(g is None for g in arr):
        # Vectorised common case: every shape valid, a Polygon or a MultiPolygon, non-empty with an area.
        types = shapely.get_type_id(arr)
        if (shapely.is_valid(arr).all() and np.isin(types, (3, 6)).all() and not shapely.is_empty(arr).any()
                and (shapely.area(arr) > 0).all()):
            out = arr.copy()
            poly = types == 3
            if poly.any():
                out[poly] = shapely.multipolygons(arr[poly], indices=np.arange(int(poly.sum())))
            return list(out), 0, []
    valid = shapely.is_valid(arr)
    repaired = 0
    lost: list[str] = []
    out = []
    for g, ok, i in zip(arr, valid, ids):
        if g is None or g.is_empty:
            lost.append(i)
            out.append(None)
            continue
        if not ok:
            g = as_multipolygon(shapely.make_valid(g))
            repaired += 1
        else:
            g = as_multipolygon(g)
        if g is None or g.is_empty or g.area <= 0:
            lost.append(i)
            out.append(None)
        else:
            out.append(g)
    return out, repaired, lost


def _vintage_from_dates(values) -> str | None:
    best = None
    for v in values:
        s = re.sub(r"[^0-9]", "", str(v or ""))
        if len(s) >= 6 and s[:2] in ("19", "20"):
            label = f"{s[:4]}-{s[4:6]}"
            if VINTAGE_RE.match(label) and (best is None or label > best):
                best = label
    return best


# Comparing vintages ------------------------------------------------------------------------------------------------

def compare(previous: dict[str, object], new: dict[str, object]) -> dict:
    """Counts of added, removed, reshaped and renumbered parcels between two {idu: geometry} maps."""
    old_ids, new_ids = set(previous), set(new)
    removed = old_ids - new_ids
    added = new_ids - old_ids
    reshaped = 0
    for i in old_ids & new_ids:
        a, b = previous[i], new[i]
        diff = shapely.symmetric_difference(a, b).area
        if diff > max(RESHAPE_TOLERANCE_M2, RESHAPE_TOLERANCE_RATIO * max(a.area, b.area)):
            reshaped += 1
    pairs = []
    if removed and added:
        tree_ids = sorted(added)
        tree = shapely.STRtree([new[i] for i in tree_ids])
        for old in sorted(removed):
            g = previous[old]
            for j in tree.query(g, predicate="intersects"):
                cand = new[tree_ids[j]]
                union = shapely.union(g, cand).area
                if union and shapely.intersection(g, cand).area / union > 0.98:
                    pairs.append((old, tree_ids[j]))
                    break
    renamed_old = {a for a, _ in pairs}
    renamed_new = {b for _, b in pairs}
    return {"added": len(added - renamed_new), "removed": len(removed - renamed_old), "reshaped": reshaped,
            "renumbered": len(pairs), "renumbered_pairs": pairs[:200]}


# Writing -----------------------------------------------------------------------------------------------------------

def _bbox_rows(geoms):
    b = shapely.bounds(np.asarray(geoms, dtype=object))
    return b


PARCEL_COLUMNS = (("vintage_id", "integer"), ("current", "boolean"), ("commune_insee", "text"), ("idu", "text"),
                  ("prefixe", "text"), ("section", "text"), ("numero", "text"), ("lieu_dit", "text"),
                  ("contenance", "integer"), ("area", "double precision"), ("repaired", "boolean"),
                  ("minx", "double precision"), ("miny", "double precision"), ("maxx", "double precision"),
                  ("maxy", "double precision"), ("geom", "bytea"))
FEATURE_COLUMNS = (("vintage_id", "integer"), ("current", "boolean"), ("commune_insee", "text"), ("layer", "text"),
                   ("label", "text"), ("area", "double precision"), ("minx", "double precision"),
                   ("miny", "double precision"), ("maxx", "double precision"), ("maxy", "double precision"),
                   ("geom", "bytea"))


def _pg_copy_insert(table: str, columns, rows) -> None:
    """PostgreSQL bulk write inside the session's transaction: ``COPY … FROM STDIN`` (binary) into a temporary
    staging table, then one ``INSERT … SELECT`` into the real table. COPY FROM is refused on tables with row-level
    security, the INSERT is not: the policies (WITH CHECK on ``app.territory``) apply to every row as for any insert,
    so the app may run as a non-superuser role (it needs the TEMPORARY privilege, granted to PUBLIC by default).
    Any error aborts the whole transaction: the import stays all-or-nothing."""
    stage = f"{table}_stage"
    names = ", ".join(c for c, _ in columns)
    select_list = ", ".join(f"ST_GeomFromWKB({c}, {SRID})" if c == "geom" else c for c, _ in columns)
    from portal.dbpool import mark_written

    conn = db.session.connection()
    mark_written(conn)  # written below on the driver's connection, out of SQLAlchemy's sight
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f"CREATE TEMPORARY TABLE {stage} ({', '.join(f'{c} {t}' for c, t in columns)}) ON COMMIT DROP")
        with cur.copy(f"COPY {stage} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([t for _, t in columns])
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {table} ({names}) SELECT {select_list} FROM {stage}")
        cur.execute(f"DROP TABLE {stage}")


def import_commune(paths, commune: str | None = None, vintage: str | None = None, *, user_email: str = "system",
                   allowed_communes=None, user=None, on_success=None, source: str | None = None) -> Report:
    """Import the files as one new vintage of one commune; commits on success, raises ImportFailed otherwise.

    ``allowed_communes``: the INSEE codes the caller administers (None: system context, any commune of the
    collectivity table). ``user``: who asked (audit; default: the signed-in user, or "system").
    ``on_success(report)``: called inside the import's transaction just before its commit (the department page
    marks its job done there, so that the job's state and the imported data commit together). ``source``: what the
    vintage says it comes from, instead of the kind of files (the generated demo plan says ``demo``).
    """
    with gc_paused():
        return _import_commune(paths, commune, vintage, user_email=user_email, allowed_communes=allowed_communes,
                               user=user, on_success=on_success, source=source)


def _import_commune(paths, commune, vintage, *, user_email, allowed_communes, user, on_success, source) -> Report:
    from portal.models import Collectivity

    if vintage is not None and not VINTAGE_RE.match(vintage):
        raise ImportFailed([N_("vintage %(vintage)r is not of the form YYYY-MM", vintage=vintage)])
    layers, kind, errors = read_files(paths)
    source = source or kind
    if errors:
        raise ImportFailed(errors)
    parcels = normalise_parcels(layers["parcelles"], commune)
    communes = sorted(set(parcels["commune_insee"]))
    if len(communes) > 1:
        raise ImportFailed([N_("the files hold parcels of several communes (%(communes)s): import one commune at a time",
                               communes=", ".join(communes))])
    insee = communes[0]
    if commune and commune != insee:
        raise ImportFailed([N_("the parcels belong to commune %(insee)s, not to %(commune)s", insee=insee, commune=commune)])
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee,
                                                        Collectivity.kind == "commune"))
    if coll is None:
        raise ImportFailed([N_("commune %(insee)s is not in the collectivity table of this portal", insee=insee)])
    if allowed_communes is not None and insee not in allowed_communes:
        raise ImportFailed([N_("commune %(insee)s is outside the territory you administer", insee=insee)])
    label = vintage or _vintage_from_dates(parcels["updated"]) or dt.date.today().strftime("%Y-%m")
    if db.session.scalar(select(Vintage.id).where(Vintage.commune_insee == insee, Vintage.label == label)):
        raise ImportFailed([N_("vintage %(vintage)s of commune %(insee)s is already imported", vintage=label, insee=insee)])

    geoms, repaired, lost = repair(parcels["geometry"], parcels["idu"])
    parcels["geometry"] = geoms
    parcels = parcels[parcels["geometry"].notna()].reset_index(drop=True)
    if parcels.empty:
        raise ImportFailed([N_("no parcel has a usable geometry")])

    report = Report(commune=insee, vintage=label, source=source, files=[Path(p).name for p in paths],
                    parcels=len(parcels), repaired=repaired, unrepairable=lost)

    # Other layers: repaired too, features beyond repair dropped (counted in the report as repaired=False).
    features = []
    lieux = None
    for layer, frames in layers.items():
        if layer == "parcelles":
            continue
        gdf = pd.concat(frames, ignore_index=True)
        gdf = gdf[gdf.geometry.notna()]
        label_col = {"batiments": ("dur",), "sections": ("tex", "code", "section", "id"),
                     "lieux_dits": ("tex", "nom"), "communes": ("tex2", "nom")}[layer]
        labels = _col(gdf, *label_col)
        labels = labels.fillna("").astype(str) if labels is not None else pd.Series("", index=gdf.index)
        if layer == "batiments":
            labels = labels.map({"01": "dur", "02": "léger"}).fillna("")
        fixed, rep, _ = repair(gdf.geometry.values, [str(i) for i in range(len(gdf))])
        report.repaired += rep
        rows = [(FEATURE_LAYER[layer], lab[:120], g) for lab, g in zip(labels, fixed) if g is not None]
        if layer == "communes" and len(rows) > 1:  # one piece per EDIGEO sheet: one boundary for the commune
            rows = [("commune", rows[0][1], as_multipolygon(shapely.union_all([g for _, _, g in rows])))]
        report.features[FEATURE_LAYER[layer]] = len(rows)
        features.extend(rows)
        if layer == "lieux_dits":
            lieux = rows

    parcels["lieu_dit"] = None
    if lieux:
        tree = shapely.STRtree([g for _, _, g in lieux])
        points = shapely.point_on_surface(np.asarray(parcels["geometry"].values, dtype=object))
        hit_p, hit_l = tree.query(points, predicate="within")
        names = [None] * len(parcels)
        for p, l in zip(hit_p, hit_l):
            names[p] = lieux[l][1] or None
        parcels["lieu_dit"] = names

    # Vintage order: the newest label is current.
    existing = db.session.scalars(select(Vintage).where(Vintage.commune_insee == insee)).all()
    current_before = next((v for v in existing if v.current), None)
    is_current = current_before is None or label > current_before.label
    report.current = is_current
    if current_before is not None:
        prev = {i: g for i, g in db.session.execute(
            select(Parcel.idu, Parcel.geom).where(Parcel.vintage_id == current_before.id))}
        new = dict(zip(parcels["idu"], parcels["geometry"]))
        diff = compare(prev, new)
        report.previous_vintage = current_before.label
        report.added, report.removed = diff["added"], diff["removed"]
        report.reshaped, report.renumbered = diff["reshaped"], diff["renumbered"]
        report.renumbered_pairs = diff["renumbered_pairs"]
    elif not existing:
        report.added = len(parcels)

    try:
        if is_current:
            for model in (Vintage, Parcel, Feature):
                db.session.execute(update(model).where(model.commune_insee == insee, model.current.is_(True))
                                   .values(current=False))
        v = Vintage(commune_insee=insee, label=label, source=source, files=report.files, imported_by=user_email,
                    current=is_current, parcel_count=len(parcels), report={})
        db.session.add(v)
        db.session.flush()
        pb = _bbox_rows(parcels["geometry"].values)
        areas = shapely.area(np.asarray(parcels["geometry"].values, dtype=object))
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            contenance = [None if pd.isna(c) else int(c) for c in parcels["contenance"]]
            n = len(parcels)
            _pg_copy_insert("cadastre_parcel", PARCEL_COLUMNS, zip(
                [v.id] * n, [is_current] * n, [insee] * n, parcels["idu"].tolist(), parcels["prefixe"].tolist(),
                parcels["section"].tolist(), parcels["numero"].tolist(), parcels["lieu_dit"].tolist(), contenance,
                areas.tolist(), [False] * n, *pb.T.tolist(),
                shapely.to_wkb(np.asarray(parcels["geometry"].values, dtype=object)).tolist()))
        rows = []
        for k, r in enumerate(parcels.itertuples(index=False) if not postgres else ()):
            rows.append({
                "vintage_id": v.id, "current": is_current, "commune_insee": insee, "idu": r.idu,
                "prefixe": r.prefixe, "section": r.section, "numero": r.numero, "lieu_dit": r.lieu_dit,
                "contenance": None if pd.isna(r.contenance) else int(r.contenance), "area": float(areas[k]),
                "repaired": False, "minx": pb[k][0], "miny": pb[k][1], "maxx": pb[k][2], "maxy": pb[k][3],
                "geom": r.geometry,
            })
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(Parcel), rows[chunk:chunk + 5000])
        if features and postgres:
            fg = np.asarray([g for _, _, g in features], dtype=object)
            fb = _bbox_rows(fg)
            n = len(features)
            _pg_copy_insert("cadastre_feature", FEATURE_COLUMNS, zip(
                [v.id] * n, [is_current] * n, [insee] * n, [f[0] for f in features], [f[1] for f in features],
                shapely.area(fg).tolist(), *fb.T.tolist(), shapely.to_wkb(fg).tolist()))
        elif features:
            fb = _bbox_rows([g for _, _, g in features])
            frows = [{"vintage_id": v.id, "current": is_current, "commune_insee": insee, "layer": layer,
                      "label": lab, "area": float(g.area), "minx": fb[k][0], "miny": fb[k][1], "maxx": fb[k][2],
                      "maxy": fb[k][3], "geom": g} for k, (layer, lab, g) in enumerate(features)]
            for chunk in range(0, len(frows), 5000):
                db.session.execute(insert(Feature), frows[chunk:chunk + 5000])
        if db.engine.dialect.name == "sqlite":
            for table in ("cadastre_parcel", "cadastre_feature"):
                db.session.execute(text(
                    f"INSERT OR REPLACE INTO {table}_rtree (id, minx, maxx, miny, maxy) "
                    f"SELECT id, minx, maxx, miny, maxy FROM {table} WHERE vintage_id = :v"), {"v": v.id})
        v.report = report.as_dict()
        from portal import audit

        audit.record("cadastre.import", target_type="CadastreVintage", target_id=v.id, collectivity=coll,
                     user=user, commune=insee, vintage=label, parcels=len(parcels), files=report.files)
        if on_success is not None:
            on_success(report)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics: without them the planner, seeing a bulk load, may combine the idu index with the
        # (unselective) current flag and read the whole table for one parcel. A full ANALYZE (geometry statistics
        # included) costs more than loading a small commune, so: full when the table has no statistics yet; when
        # this import is a sizeable part of the table (more than 10 %, autovacuum's own threshold), the columns
        # the planner weighs against each other (current, commune, idu, vintage, bounding box); smaller imports
        # leave the statistics representative. Geometry statistics only tune the && estimate: the GiST index is
        # used either way.
        box = "vintage_id, minx, miny, maxx, maxy"
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table, added, cols in (("cadastre_parcel", len(parcels), f"current, commune_insee, idu, {box}"),
                                       ("cadastre_feature", len(features), f"current, layer, commune_insee, {box}")):
                if not added:
                    continue
                tuples = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                                              (table,)).scalar() or 0
                if tuples <= 0:
                    conn.exec_driver_sql(f"ANALYZE {table}")
                elif added > 0.1 * tuples:
                    conn.exec_driver_sql(f"ANALYZE {table} ({cols})")
    log.info("cadastre import: %s", " | ".join(report.lines()))
    return report


def delete_vintage_rtree(vintage_id: int) -> None:
    """SQLite: drop the R*Tree entries of a vintage's rows (before deleting the vintage)."""
    if db.engine.dialect.name != "sqlite":
        return
    for table in ("cadastre_parcel", "cadastre_feature"):
        db.session.execute(text(f"DELETE FROM {table}_rtree WHERE id IN "
                                f"(SELECT id FROM {table} WHERE vintage_id = :v)"), {"v": vintage_id})


def count_parcels(insee: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Parcel).where(Parcel.commune_insee == insee,
                                                                           Parcel.current.is_(True))) or 0
