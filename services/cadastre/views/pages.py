"""Pages of the mairie's staff: the map page with its side panel, search, parcel page, neighbours, CSV of parcels,
parcel sheet (PDF). No owner here (``owners.py``)."""
from __future__ import annotations

import functools

from flask import Response, jsonify, make_response, render_template, request
from sqlalchemy import select

from portal.identity import today as local_today
from portal.extensions import db
from portal.responses import csv_response, pdf_response

from .. import addresses as addresses_mod
from .. import spatial
from ..access import current_parcel_or_404, purpose_arg, selected_parcel
from ..models import Vintage
from ..owners import can_read_owners, owners_of
from ..pdf import map_svg, render_pdf
from ..queries import SEARCH_LIMIT, commune_names, parcel_facts, parcel_history, parse_query, search_parcels
from . import bp


def no_store(view):
    """Pages showing owners (personal data) are never kept by the browser or a proxy."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        resp = make_response(view(*args, **kwargs))
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return wrapped


@bp.get("/")
def index():
    selected = selected_parcel()
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
@no_store
def parcel_neighbours(idu: str):
    p = current_parcel_or_404(idu)
    try:
        buffer_m = min(max(float(request.args.get("distance", "0.5").replace(",", ".")), 0.0), 50.0)
    except ValueError:
        buffer_m = 0.5
    found = spatial.neighbours(p, buffer_m)
    purpose = purpose_arg() if can_read_owners() else None
    owners = owners_of([n.idu for n in found], purpose, "neighbours") if purpose and found else None
    if request.args.get("format") == "csv":
        return parcels_csv(found, f"voisines-{p.idu}.csv", owners=owners)
    return render_template("cadastre/neighbours.html", parcel=p, neighbours=found, distance=buffer_m,
                           names=commune_names(), owners=owners, purpose=purpose,
                           can_owners=can_read_owners(), asked="motif" in request.args)


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


@bp.get("/parcelles/<idu>/fiche.pdf")
def parcel_sheet_pdf(idu: str):
    p = current_parcel_or_404(idu)
    html = render_template("cadastre/pdf_sheet.html", svg=map_svg(p), today=local_today().strftime("%d/%m/%Y"),
                           **parcel_facts(p))
    return pdf_response(render_pdf(html), f"fiche-parcelle-{p.idu}.pdf")
