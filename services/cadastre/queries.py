"""Reads of the land registry shared by its pages, map and PDFs: names of the territory's communes, its extent,
the facts of a parcel, the search by reference, address, lieu-dit or list of ids, the section labels of the map.

Every query here is narrowed to the active territory by portal/tenancy.py, below.
"""
from __future__ import annotations

import re

from flask import g
from sqlalchemy import func, or_, select

from portal.extensions import db

from . import addresses as addresses_mod
from . import spatial
from .access import IDU_FULL
from .demo import DEMO_SOURCE
from .models import Feature, Parcel, Vintage

SEARCH_LIMIT = 100


def commune_names() -> dict[str, str]:
    coll = g.get("collectivity")
    if coll is None:
        return {}
    if coll.kind == "commune":
        return {coll.insee: coll.name}
    return {m.insee: m.name for m in coll.members if m.insee}


def demo_plan_shown() -> bool:
    """Whether a current plan of the territory is the generated demonstration one (``demo.py``)."""
    return db.session.scalar(select(Vintage.id).where(Vintage.current.is_(True), Vintage.source == DEMO_SOURCE)
                             .limit(1)) is not None


def territory_extent():
    """(minx, miny, maxx, maxy) in Lambert-93 of the current parcels the user may see, or None."""
    row = db.session.execute(select(func.min(Parcel.minx), func.min(Parcel.miny), func.max(Parcel.maxx),
                                    func.max(Parcel.maxy)).where(Parcel.current.is_(True))).one()
    return None if row[0] is None else tuple(row)


def parcel_facts(parcel: Parcel) -> dict:
    buildings = spatial.buildings_on(parcel)
    return {
        "parcel": parcel,
        "commune": commune_names().get(parcel.commune_insee, parcel.commune_insee),
        "buildings": buildings,
        "built_area": sum(b.geom.intersection(parcel.geom).area for b in buildings),
        "vintage": parcel.vintage,
        "addresses": addresses_mod.addresses_of(parcel),
    }


def parcel_history(parcel: Parcel) -> list[dict]:
    """The same id in the previous vintages of the commune (kept for comparison), newest first."""
    rows = db.session.execute(select(Parcel, Vintage.label).join(Vintage, Parcel.vintage_id == Vintage.id).where(
        Parcel.idu == parcel.idu, Parcel.current.is_(False)).order_by(Vintage.label.desc())).all()
    out = []
    for old, label in rows:
        moved = old.geom.symmetric_difference(parcel.geom).area
        out.append({"vintage": label, "contenance": old.contenance, "area": old.area,
                    "reshaped": moved > max(1.0, 0.001 * max(old.area, parcel.area))})
    return out


def parse_query(q: str):
    """→ ('ids', [ids…]) for a pasted list, ('ref', section, numero) for « AB 12 », ('partial', text)."""
    q = (q or "").strip().upper()
    tokens = [t for t in re.split(r"[\s,;]+", q) if t]
    if tokens and all(IDU_FULL.match(t) for t in tokens):
        return ("ids", tokens)
    m = re.match(r"^(?:(\d{3})\s*)?([0-9]?[A-Z]{1,2}|[0-9]{1,2})\s*[-/ ]?\s*0*(\d{1,4})$", q)
    if m:
        prefixe, section, numero = m.groups()
        return ("ref", prefixe, section.rjust(2, "0"), numero.zfill(4))
    return ("partial", re.sub(r"\s+", "", q))


def search_parcels(q: str, suggest: bool = False):
    kind = parse_query(q)
    base = select(Parcel).where(Parcel.current.is_(True))
    missing: list[str] = []
    if kind[0] == "ids":
        found = db.session.scalars(base.where(Parcel.idu.in_(kind[1])).order_by(Parcel.idu)).all()
        have = {p.idu for p in found}
        missing = [i for i in kind[1] if i not in have]
        return found, missing
    if kind[0] == "ref":
        _, prefixe, section, numero = kind
        stmt = base.where(Parcel.section == section, Parcel.numero == numero)
        if prefixe:
            stmt = stmt.where(Parcel.prefixe == prefixe)
        found = [] if suggest else db.session.scalars(stmt.order_by(Parcel.idu)).all()
        if found:
            return found, missing
        # No exact match (or suggestions): the parcels of that section whose number starts with the digits typed.
        stmt = base.where(Parcel.section == section, func.ltrim(Parcel.numero, "0").like(numero.lstrip("0") + "%"))
        if prefixe:
            stmt = stmt.where(Parcel.prefixe == prefixe)
        return db.session.scalars(stmt.order_by(Parcel.idu).limit(SEARCH_LIMIT)).all(), missing
    text_q = kind[1]
    if len(text_q) < 2:
        return [], missing
    like = text_q.replace("%", "").replace("_", "")
    stmt = base.where(or_(Parcel.idu.like(f"%{like}%"), (Parcel.section + Parcel.numero).like(f"{like}%"),
                          func.upper(Parcel.lieu_dit).like(f"%{like}%")))
    return db.session.scalars(stmt.order_by(Parcel.idu).limit(SEARCH_LIMIT)).all(), missing


def section_labels() -> list:
    """[lat, lon, code] of the current sections of the territory (a few dozen per commune)."""
    import numpy as np
    import shapely

    rows = db.session.execute(select(Feature.label, Feature.geom).where(
        Feature.current.is_(True), Feature.layer == "section").order_by(Feature.id)).all()
    if not rows:
        return []
    points = shapely.point_on_surface(np.asarray([r[1] for r in rows], dtype=object))
    from .geometry import SRID, WGS84, transformer

    lon, lat = transformer(SRID, WGS84).transform(shapely.get_x(points), shapely.get_y(points))
    out = []
    for (label, _g), x, y in zip(rows, lon, lat):
        code = (label or "").strip()
        code = code[-2:].lstrip("0") if len(code) > 2 and code[-2:].isalnum() else code.lstrip("0") or code
        if code:
            out.append([round(float(y), 6), round(float(x), 6), code])
    return out
