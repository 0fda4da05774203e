"""Pages of the land registry: map with side panel, search, parcel page, map document, vector tiles, CSV."""
from __future__ import annotations

import re

from flask import (Blueprint, Response, abort, current_app, g, jsonify, render_template, request, url_for)
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal import grants, maps
from portal.responses import csv_response, pdf_response

from . import addresses as addresses_mod
from . import spatial
from .api import tile_response, tiles_template
from .demo import DEMO_SOURCE
from .pdf import css_string
from .geometry import to_wgs84
from .models import Feature, Parcel, Vintage

bp = Blueprint("cadastre", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

bp.add_app_template_filter(css_string, "css_string")

IDU_FULL = re.compile(r"^\d[\dAB]\d{3}[0-9]{3}[0-9A-Z]{2}\d{4}$")
SEARCH_LIMIT = 100


# Helpers ---------------------------------------------------------------------------------------------------------

def current_parcel_or_404(idu: str) -> Parcel:
    idu = (idu or "").strip().upper()
    if not IDU_FULL.match(idu):
        abort(404)
    parcel = db.session.scalar(select(Parcel).where(Parcel.idu == idu, Parcel.current.is_(True)))
    if parcel is None:
        abort(404)
    return parcel


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


# Pages ------------------------------------------------------------------------------------------------------------

@bp.get("/")
def index():
    idu = (request.args.get("parcelle") or "").strip().upper()
    selected = None
    if idu:
        selected = db.session.scalar(select(Parcel).where(Parcel.idu == idu, Parcel.current.is_(True)))
    vintages = db.session.scalars(select(Vintage).where(Vintage.current.is_(True))
                                  .order_by(Vintage.commune_insee)).all()
    names = commune_names()
    return render_template("cadastre/index.html", vintages=vintages, names=names, selected=selected,
                           facts=parcel_facts(selected) if selected else None,
                           has_data=bool(vintages), q=request.args.get("q", ""))


@bp.get("/recherche")
def search():
    q = request.args.get("q", "").strip()
    results, missing = search_parcels(q) if q else ([], [])
    if request.args.get("format") == "csv" and q:
        return parcels_csv(results, "recherche-parcelles.csv")
    found_addresses = []
    if q and parse_query(q)[0] == "partial":
        for a in addresses_mod.search(q):
            found_addresses.append((a, addresses_mod.parcel_of(a)))
    return render_template("cadastre/search.html", q=q, results=results, missing=missing, names=commune_names(),
                           limit=SEARCH_LIMIT, addresses=found_addresses)


@bp.get("/suggestions")
def suggestions():
    q = request.args.get("q", "").strip()
    results, _missing = search_parcels(q, suggest=True) if len(q) >= 2 else ([], [])
    return jsonify([{"id": p.idu, "label": f"{p.label} — {p.idu}"} for p in results[:15]])


@bp.get("/parcelles/<idu>")
def parcel(idu: str):
    p = current_parcel_or_404(idu)
    return render_template("cadastre/parcel.html", history=parcel_history(p), **parcel_facts(p))


@bp.get("/parcelles/<idu>/panneau")
def parcel_panel(idu: str):
    p = current_parcel_or_404(idu)
    return render_template("cadastre/_panel.html", **parcel_facts(p))


@bp.get("/parcelles/<idu>/voisines")
def parcel_neighbours(idu: str):
    p = current_parcel_or_404(idu)
    try:
        buffer_m = min(max(float(request.args.get("distance", "0.5").replace(",", ".")), 0.0), 50.0)
    except ValueError:
        buffer_m = 0.5
    found = spatial.neighbours(p, buffer_m)
    from .owners import can_read_owners, owners_of

    purpose = purpose_arg() if can_read_owners() else None
    owners = owners_of([n.idu for n in found], purpose, "neighbours") if purpose and found else None
    if request.args.get("format") == "csv":
        return parcels_csv(found, f"voisines-{p.idu}.csv", owners=owners)
    return render_template("cadastre/neighbours.html", parcel=p, neighbours=found, distance=buffer_m,
                           names=commune_names(), owners=owners, purpose=purpose,
                           can_owners=can_read_owners(), asked="motif" in request.args)


# CSV ----------------------------------------------------------------------------------------------------------

CSV_HEADER = ["identifiant", "commune", "prefixe", "section", "numero", "lieu_dit", "contenance_dgfip_m2",
              "surface_calculee_m2", "millesime"]


def parcels_csv(parcels, filename: str, owners: dict | None = None) -> Response:
    """CSV of parcels (portal.responses: spreadsheet-friendly, formulas neutralised, not cached); with ``owners``
    (already audited), one line per owner."""
    def rows():
        for p in parcels:
            base = [p.idu, p.commune_insee, p.prefixe, p.section, p.numero, p.lieu_dit or "",
                    "" if p.contenance is None else p.contenance, f"{p.area:.0f}", p.vintage.label]
            if owners is None:
                yield base
                continue
            for o in owners.get(p.idu) or [None]:
                yield base + ([o.account, o.right, o.display_name, o.address] if o else ["", "", "", ""])

    return csv_response(rows(), filename, CSV_HEADER + (OWNER_HEADER if owners is not None else []))


OWNER_HEADER = ["compte", "droit", "proprietaire", "adresse_proprietaire"]


# Map -----------------------------------------------------------------------------------------------------------

SELECTED_STYLE = {"color": "#ce0500", "weight": 3, "fillOpacity": 0.1}
SECTION_LABEL_ZOOM = 15  # section codes are written on the map from this zoom (the outlines appear at 12)
TILE_STYLES = {
    "commune": {"weight": 3, "color": "#000091", "fill": False, "opacity": 0.9},
    "sections": {"weight": 2, "color": "#b34000", "fill": False, "opacity": 0.8, "dashArray": "6 4"},
    "parcelles": {"weight": 1, "color": "#3a3a3a", "fill": True, "fillColor": "#fef7da", "fillOpacity": 0.35},
    "batiments": {"weight": 0.5, "color": "#6a6a6a", "fill": True, "fillColor": "#929292", "fillOpacity": 0.8},
}


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


def map_bounds(selected: Parcel | None):
    """[[south, west], [north, east]] of the selected parcel, else of the territory's plan; None when empty."""
    import shapely

    from .geometry import reproject

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


@bp.get("/carte")
def map_document():
    idu = (request.args.get("parcelle") or "").strip().upper()
    selected = None
    if idu:
        selected = db.session.scalar(select(Parcel).where(Parcel.idu == idu, Parcel.current.is_(True)))
    return build_map(selected)


@bp.get("/tuiles/acces")
def tile_access():
    """A fresh tile URL template (grant) for the open map, which renews its grant before it expires."""
    return jsonify(url=tiles_template("cadastre.tile"), expires_in=grants.max_age())


@bp.get("/tuiles/<int:z>/<int:x>/<int:y>.pbf")
@grants.accepts_grant
def tile(z: int, x: int, y: int):
    return tile_response(z, x, y)


# Owners (personal data: cadastre.owners.read, every read audited with its purpose) ----------------------------

from portal.registry import requires  # noqa: E402

from . import owners as owners_mod  # noqa: E402

PURPOSE_MIN = 5


def purpose_arg() -> str | None:
    """The purpose the user typed (motif), or None when missing or too short."""
    value = " ".join((request.args.get("motif") or "").split())[:200]
    return value if len(value) >= PURPOSE_MIN else None


@bp.get("/parcelles/<idu>/proprietaires")
@requires("cadastre.owners.read")
def parcel_owners(idu: str):
    p = current_parcel_or_404(idu)
    purpose = purpose_arg()
    found = owners_mod.owners_of([p.idu], purpose, "parcel")[p.idu] if purpose else None
    return render_template("cadastre/owners.html", parcel=p, purpose=purpose, owners=found,
                           asked="motif" in request.args)


@bp.get("/proprietaires")
@requires("cadastre.owners.read")
def owner_search():
    q = request.args.get("q", "").strip()
    purpose = purpose_arg()
    results = owners_mod.search_owners(q, purpose) if q and purpose else []
    return render_template("cadastre/owner_search.html", q=q, purpose=purpose, results=results,
                           asked=bool(q), names=commune_names())


def _statement(account: str):
    """The owner statement of an account: (purpose, holders, parcels, rows), or a response (404 when the account is not
    in the territory — checked before the purpose is asked —, the purpose form when it is missing). The read is
    audited with its purpose (``account_rows``)."""
    from .models import Owner

    if db.session.scalar(select(Owner.id).where(Owner.account == account).limit(1)) is None:
        abort(404)
    purpose = purpose_arg()
    if not purpose:
        return render_template("cadastre/purpose.html", title=_("Owner statement %(account)s", account=account),
                               asked="motif" in request.args)
    commune = (request.args.get("commune") or "").strip() or None
    rows = owners_mod.account_rows(account, purpose, commune)
    if not rows:
        abort(404)
    idus = sorted({r.idu for r in rows})
    parcels = db.session.scalars(select(Parcel).where(Parcel.idu.in_(idus), Parcel.current.is_(True))
                                 .order_by(Parcel.idu)).all()
    holders = {}
    for r in rows:
        holders.setdefault((r.display_name, r.right, r.address), r)
    return purpose, list(holders.values()), parcels, rows


@bp.get("/comptes/<account>")
@requires("cadastre.owners.read")
def owner_account(account: str):
    found = _statement(account)
    if not isinstance(found, tuple):
        return found
    purpose, holders, parcels, _rows = found
    return render_template("cadastre/account.html", account=account, purpose=purpose, holders=holders,
                           parcels=parcels, names=commune_names())


@bp.get("/comptes/<account>/releve.csv")
@requires("cadastre.owners.read")
def owner_account_csv(account: str):
    """The owner statement as CSV: one line per parcel of the account and right on it."""
    found = _statement(account)
    if not isinstance(found, tuple):
        return found
    _purpose, _holders, parcels, rows = found
    by_idu: dict[str, list] = {}
    for r in rows:
        by_idu.setdefault(r.idu, []).append(r)
    return parcels_csv(parcels, f"releve-propriete-{account.strip('+')}.csv", owners=by_idu)


# PDFs ---------------------------------------------------------------------------------------------------------

@bp.get("/parcelles/<idu>/fiche.pdf")
def parcel_sheet_pdf(idu: str):
    import datetime as dt

    from .pdf import map_svg, render_pdf

    p = current_parcel_or_404(idu)
    html = render_template("cadastre/pdf_sheet.html", svg=map_svg(p), today=dt.date.today().strftime("%d/%m/%Y"),
                           **parcel_facts(p))
    return pdf_response(render_pdf(html), f"fiche-parcelle-{p.idu}.pdf")


@bp.get("/comptes/<account>/releve.pdf")
@requires("cadastre.owners.read")
def owner_account_pdf(account: str):
    import datetime as dt

    from .pdf import render_pdf

    found = _statement(account)
    if not isinstance(found, tuple):
        return found
    purpose, holders, parcels, _rows = found
    html = render_template("cadastre/pdf_account.html", account=account, purpose=purpose, holders=holders,
                           parcels=parcels, today=dt.date.today().strftime("%d/%m/%Y"),
                           demo=any(p.vintage.source == DEMO_SOURCE for p in parcels))
    return pdf_response(render_pdf(html), f"releve-propriete-{account.strip('+')}.pdf")
