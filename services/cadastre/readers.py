"""Reading the files of a commune's plan into layers: Etalab GeoJSON (plain or gzipped), DGFiP EDIGEO sheets
(.tar.bz2), any file pyogrio reads (GeoPackage, zipped Shapefile); then the parcels normalised (14-character ids,
Lambert-93) and their geometries repaired.

Every problem is collected as an English message (a :class:`~.problems.Problem`, translated on the department's page)
rather than raised one at a time, so that one import reports them all; ``importer.py`` refuses the import when any.
"""
from __future__ import annotations

import contextlib
import gc
import gzip
import json
import os
import re
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .geometry import SRID, WGS84, as_multipolygon
from .problems import ImportFailed, N_

LAYERS = ("parcelles", "batiments", "sections", "lieux_dits", "communes")
EDIGEO_LAYERS = {"PARCELLE_id": "parcelles", "BATIMENT_id": "batiments", "SECTION_id": "sections",
                 "LIEUDIT_id": "lieux_dits", "COMMUNE_id": "communes"}
FEATURE_LAYER = {"batiments": "batiment", "sections": "section", "lieux_dits": "lieu_dit", "communes": "commune"}
EDIGEO_PARTS = (".THF", ".GEN", ".GEO", ".DIC", ".SCD", ".QAL")
VINTAGE_RE = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
IDU_RE = re.compile(r"^(\d[\dAB]\d{3})([0-9]{3})([0-9A-Z]{2})(\d{4})$")

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

def first_column(gdf, *names):
    lower = {c.lower(): c for c in gdf.columns}
    for n in names:
        if n.lower() in lower:
            return gdf[lower[n.lower()]]
    return None


def parcel_ids(gdf, commune: str | None) -> pd.Series:
    """14-character ids: Etalab ``id``; EDIGEO's 12-character ``IDU`` completed with the département code."""
    ids = first_column(gdf, "id", "idu")
    if ids is None:
        parts = [first_column(gdf, n) for n in ("commune", "prefixe", "section", "numero")]
        if any(p is None for p in parts):
            raise ImportFailed([N_("the parcel layer has no id column (id, IDU, or commune+prefixe+section+numero)")])
        return (parts[0].astype(str) + parts[1].astype(str).str.zfill(3) + parts[2].astype(str).str.zfill(2)
                + parts[3].astype(str).str.zfill(4))
    ids = ids.astype(str).str.strip().str.upper()
    short = ids.str.len() == 12
    if short.any():
        feuille = first_column(gdf, "feuille")
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
    contenance = first_column(gdf, "contenance", "supf")
    out["contenance"] = pd.to_numeric(contenance, errors="coerce").round() if contenance is not None else np.nan
    updated = first_column(gdf, "updated", "update_date")
    out["updated"] = updated.astype(str) if updated is not None else ""
    out["geometry"] = gdf.geometry.values
    dup = out["idu"][out["idu"].duplicated()]
    if len(dup):
        # EDIGEO sheets of one section may repeat a parcel cut by the sheet border: merge identical ids only when
        # they come from different sheets; within one file a repeated id is an error.
        feuille = first_column(gdf, "feuille")
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
