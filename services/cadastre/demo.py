"""A fictitious cadastral plan for the demo communes, drawn inside their real boundary.

The real plans of the Aube (DGFiP, redistributed by Etalab) are not shipped with the portal; the demo needs a map to
show all the same. :func:`load_demo_plans` draws one for each demo commune from its real boundary
(``portal/data/aube/communes-10-aube.geojson``, IGN Admin Express): sections cut the commune in blocks of about a
kilometre, parcels tile each section (small near the middle of the commune, large in the fields), a few buildings
stand on the small ones. Sections and parcels together cover the commune exactly. The plan is written as Etalab
GeoJSON layers and loaded by the real importer, with the source ``demo``: the map, the parcel sheets and the PDFs say
« Plan fictif de démonstration » wherever it shows. The same commune always gets the same plan (seeded by its code);
a commune that already has a plan is left alone.
"""
from __future__ import annotations

import json
import random
import string
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import box, mapping, shape

from portal.identity import today as local_today
from .geometry import SRID, WGS84, reproject

DEMO_SOURCE = "demo"
DEMO_COMMUNES = ("10002", "10176")  # Ailleville, Jaucourt: the demo accounts' communes
BOUNDARIES = Path(__file__).resolve().parents[2] / "portal" / "data" / "aube" / "communes-10-aube.geojson"
SECTION_SIZE_M = 1100
MIN_PIECE_M2 = 1.0


def commune_boundary(insee: str):
    """The commune's real boundary in Lambert-93, or None when it is not in the Aube file."""
    doc = json.loads(BOUNDARIES.read_text(encoding="utf-8"))
    for feat in doc["features"]:
        if feat["properties"].get("code") == insee:
            return shapely.make_valid(reproject(shape(feat["geometry"]), WGS84, SRID)), feat["properties"]["nom"]
    return None, None


def _pieces(geom):
    """The parts of an intersection worth a feature (no slivers of a lower dimension)."""
    geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all([g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    return None if geom.is_empty or geom.area < MIN_PIECE_M2 else geom


def _split(rect, centre, rng, out):
    """Cut ``rect`` along its longer side until it is as small as a parcel is at its distance from ``centre``."""
    minx, miny, maxx, maxy = rect.bounds
    w, h = maxx - minx, maxy - miny
    d = rect.centroid.distance(centre)
    target = 45 if d < 350 else 110 if d < 900 else 260
    if max(w, h) <= target * rng.uniform(0.8, 1.3):
        out.append(rect)
        return
    f = rng.uniform(0.35, 0.65)
    if w >= h:
        x = minx + f * w
        _split(box(minx, miny, x, maxy), centre, rng, out)
        _split(box(x, miny, maxx, maxy), centre, rng, out)
    else:
        y = miny + f * h
        _split(box(minx, miny, maxx, y), centre, rng, out)
        _split(box(minx, y, maxx, maxy), centre, rng, out)


def _order(geoms):
    """North-west first, row by row of 200 m: the order a surveyor numbers a section in."""
    pts = [g.representative_point() for g in geoms]
    return sorted(range(len(geoms)), key=lambda k: (-round(pts[k].y / 200), pts[k].x))


def _building(parcel, rng, large: bool):
    """A rectangle of a house (or a barn) inside the parcel, or None when it does not fit."""
    p = parcel.representative_point()
    w, h = (rng.uniform(18, 30), rng.uniform(12, 20)) if large else (rng.uniform(9, 15), rng.uniform(7, 11))
    b = box(p.x - w / 2, p.y - h / 2, p.x + w / 2, p.y + h / 2)
    return b if parcel.contains(b) else None


def generate_plan(insee: str) -> dict | None:
    """{layer: [(properties, Lambert-93 geometry)…]} of the commune's fictitious plan, or None when unknown."""
    boundary, name = commune_boundary(insee)
    if boundary is None:
        return None
    rng = random.Random(int(insee.replace("A", "0").replace("B", "0")))
    centre = boundary.representative_point()
    minx, miny, maxx, maxy = boundary.bounds
    nx, ny = max(1, round((maxx - minx) / SECTION_SIZE_M)), max(1, round((maxy - miny) / SECTION_SIZE_M))
    blocks = []
    for i in range(nx):
        for j in range(ny):
            cell = box(minx + i * (maxx - minx) / nx, miny + j * (maxy - miny) / ny,
                       minx + (i + 1) * (maxx - minx) / nx, miny + (j + 1) * (maxy - miny) / ny)
            piece = _pieces(boundary.intersection(cell))
            if piece is not None:
                blocks.append(piece)
    codes = [c if len(c) == 2 else "0" + c for c in list(string.ascii_uppercase) +
             [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase]]
    plan = {"communes": [({"id": insee, "nom": name}, boundary)], "sections": [], "parcelles": [], "batiments": []}
    updated = local_today().isoformat()
    for code, k in zip(codes, _order(blocks)):
        section = blocks[k]
        plan["sections"].append(({"id": f"{insee}000{code}", "commune": insee, "prefixe": "000", "code": code},
                                 section))
        rects: list = []
        _split(box(*section.bounds), centre, rng, rects)
        parcels = [g for g in (_pieces(section.intersection(r)) for r in rects) if g is not None]
        for number, m in enumerate(_order(parcels), start=1):
            parcel = parcels[m]
            idu = f"{insee}000{code}{number:04d}"
            plan["parcelles"].append(({"id": idu, "commune": insee, "prefixe": "000", "section": code,
                                       "numero": str(number), "contenance": round(parcel.area),
                                       "updated": updated}, parcel))
            near = parcel.representative_point().distance(centre) < 350
            if (near and rng.random() < 0.7) or (not near and rng.random() < 0.05):
                house = _building(parcel, rng, large=not near)
                if house is not None:
                    plan["batiments"].append(({"type": "01", "dur": "01"}, house))
    return plan


def write_plan(plan: dict, insee: str, folder: Path) -> list[Path]:
    """The plan as Etalab GeoJSON layers (WGS84) in ``folder``; → their paths."""
    paths = []
    for layer, rows in plan.items():
        doc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": props.get("id"), "properties": props,
             "geometry": mapping(shapely.set_precision(reproject(geom, SRID, WGS84), 1e-8))} for props, geom in rows]}
        path = folder / f"cadastre-{insee}-{layer}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        paths.append(path)
    return paths


def load_demo_plans(communes=DEMO_COMMUNES) -> list[str]:
    """Import a fictitious plan for each demo commune that has none yet (system context); → lines for the console."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Collectivity
    from portal.tenancy import territory_scope

    from .importer import import_commune
    from .models import Vintage

    lines = []
    with territory_scope(None):
        for insee in communes:
            if db.session.scalar(select(Collectivity.id).where(Collectivity.insee == insee)) is None:
                continue
            if db.session.scalar(select(Vintage.id).where(Vintage.commune_insee == insee).limit(1)) is not None:
                lines.append(f"commune {insee}: a plan is already imported, left alone")
                continue
            plan = generate_plan(insee)
            if plan is None:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                report = import_commune(write_plan(plan, insee, Path(tmp)), commune=insee,
                                        vintage=local_today().strftime("%Y-%m"), user_email="demo",
                                        source=DEMO_SOURCE)
            lines.append(f"commune {insee}: fictitious demonstration plan, {report.parcels} parcels, "
                         f"{report.features.get('section', 0)} sections, {report.features.get('batiment', 0)} "
                         f"buildings")
    return lines
