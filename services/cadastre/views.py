"""Pages of the land registry: map with side panel, search, parcel page, map document, vector tiles, CSV."""
from __future__ import annotations

import re

import folium
from branca.element import MacroElement
from flask import (Blueprint, Response, abort, current_app, g, jsonify, render_template, request, url_for)
from flask_babel import gettext as _
from folium.plugins import VectorGridProtobuf
from folium.template import Template
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal import grants
from portal.responses import csv_response, pdf_response

from . import addresses as addresses_mod
from . import spatial
from .api import tiles_template
from .geometry import to_wgs84
from .models import Feature, Parcel, Vintage

bp = Blueprint("cadastre", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")

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

MAP_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: {basemap}; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
           "form-action 'none'")


SELECTED_STYLE = {"color": "#ce0500", "weight": 3, "fillOpacity": 0.1}


class _ClickToParent(MacroElement):
    """A click on a parcel of the vector grid redraws the selection on the map (the parcel's whole outline, from the
    API: tiles clip it) and tells the page around the map (postMessage, same origin only), which fills its panel."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var selected = {{ this.initial or "null" }};
            var wanted = null;
            {{ this.grid.get_name() }}.on('click', function (e) {
                var id = e.layer && e.layer.properties && e.layer.properties.id;
                if (!id || !/^[0-9A-Z]{14}$/.test(id)) { return; }
                wanted = id;
                if (window.parent !== window) {
                    window.parent.postMessage({type: 'cadastre-parcel', id: id}, window.location.origin);
                }
                fetch({{ this.feature_url|tojson }}.replace('IDU', id),
                      {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
                    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
                    .then(function (feature) {
                        if (wanted !== id) { return; }  // a later click won
                        if (selected) { map.removeLayer(selected); }
                        selected = L.geoJSON(feature, {style: {{ this.style|tojson }}, interactive: false}).addTo(map);
                        map.getContainer().dataset.selected = id;
                    })
                    .catch(function () { /* gone or outside the territory: keep the current selection */ });
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, grid, feature_url: str, initial: str | None):
        super().__init__()
        self._name = "ClickToParent"
        self.grid = grid
        self.feature_url = feature_url
        self.initial = initial
        self.style = SELECTED_STYLE


class _RenewGrant(MacroElement):
    """The tiles' URLs carry a grant (portal.grants) that expires: the map asks for a new one at half its life — and
    when the map moves or the tab comes back with a grant older than that (timers sleep with the computer) — then
    swaps the layer's URL without redrawing. (Leaflet.VectorGrid draws a refused tile as empty, without an event.)"""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var grid = {{ this.grid.get_name() }};
            var every = {{ this.every_ms }}, issued = Date.now(), pending = false;
            function renew() {
                if (pending) { return; }
                pending = true;
                fetch({{ this.url|tojson }}, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
                    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
                    .then(function (d) { grid.setUrl(d.url, true); issued = Date.now(); })
                    .catch(function () { /* signed out or offline: the next attempt will tell */ })
                    .finally(function () { pending = false; });
            }
            function renewIfOld() { if (Date.now() - issued >= every) { renew(); } }
            setInterval(renew, every);
            map.on('movestart zoomstart', renewIfOld);
            document.addEventListener('visibilitychange', function () {
                if (document.visibilityState === 'visible') { renewIfOld(); }
            });
        })();
        {% endmacro %}
    """)

    def __init__(self, grid, url: str, max_age: int):
        super().__init__()
        self._name = "RenewGrant"
        self.grid = grid
        self.url = url
        self.every_ms = max(5, max_age // 2) * 1000


SECTION_LABEL_ZOOM = 15  # section codes are written on the map from this zoom (the outlines appear at 12)


class _SectionLabels(MacroElement):
    """The codes of the cadastral sections written at their representative point, from zoom SECTION_LABEL_ZOOM
    (Leaflet.VectorGrid draws no text: the labels are a small layer of their own, built from the database)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var group = L.layerGroup({{ this.labels|tojson }}.map(function (s) {
                return L.marker([s[0], s[1]], {interactive: false, keyboard: false,
                    icon: L.divIcon({className: 'cadastre-section-label', html: s[2], iconSize: null})});
            }));
            function toggle() {
                if (map.getZoom() >= {{ this.min_zoom }}) { group.addTo(map); } else { group.remove(); }
            }
            map.on('zoomend', toggle);
            toggle();
        })();
        {% endmacro %}
    """)

    def __init__(self, labels, min_zoom: int):
        super().__init__()
        self._name = "SectionLabels"
        self.labels = labels
        self.min_zoom = min_zoom


def section_labels() -> list:
    """[lat, lon, escaped code] of the current sections of the territory (a few dozen per commune)."""
    from html import escape

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
            out.append([round(float(y), 6), round(float(x), 6), escape(code)])
    return out


def build_map(selected: Parcel | None) -> str:
    static = lambda f: url_for("cadastre.static", filename=f)  # noqa: E731
    basemap = current_app.config.get("CADASTRE_BASEMAP_URL") or ""
    m = folium.Map(tiles=None, control_scale=True, zoom_control=True, max_zoom=spatial.MAX_ZOOM, prefer_canvas=False)
    m.default_js = [("leaflet", static("vendor/leaflet/leaflet.js"))]
    m.default_css = [("leaflet_css", static("vendor/leaflet/leaflet.css")), ("cadastre_map_css", static("map.css"))]
    if basemap:
        folium.TileLayer(basemap, attr=current_app.config.get("CADASTRE_BASEMAP_ATTRIBUTION") or "IGN",
                         name=_("Base map"), max_zoom=spatial.MAX_ZOOM, max_native_zoom=19).add_to(m)
    styles = {
        "commune": {"weight": 3, "color": "#000091", "fill": False, "opacity": 0.9},
        "sections": {"weight": 2, "color": "#b34000", "fill": False, "opacity": 0.8, "dashArray": "6 4"},
        "parcelles": {"weight": 1, "color": "#3a3a3a", "fill": True, "fillColor": "#fef7da", "fillOpacity": 0.35},
        "batiments": {"weight": 0.5, "color": "#6a6a6a", "fill": True, "fillColor": "#929292", "fillOpacity": 0.8},
    }
    grid = VectorGridProtobuf(
        tiles_template("cadastre.tile"),
        name=_("Cadastral plan"),
        options={"vectorTileLayerStyles": styles, "interactive": True, "maxZoom": spatial.MAX_ZOOM,
                 "maxNativeZoom": 18, "getFeatureId": None},
    )
    grid.default_js = [("vectorGrid", static("vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"))]
    grid.add_to(m)
    initial = None
    if selected is not None:
        shape = to_wgs84(selected.geom)
        initial = folium.GeoJson(shape.__geo_interface__, name=selected.idu, style_function=lambda _f: SELECTED_STYLE,
                                 interactive=False)  # clicks go through to the parcels below
        initial.add_to(m)
    _ClickToParent(grid, url_for("cadastre_api.parcel", idu="IDU"), initial.get_name() if initial else None).add_to(m)
    _RenewGrant(grid, url_for("cadastre.tile_access"), grants.max_age()).add_to(m)
    labels = section_labels()
    if labels:
        _SectionLabels(labels, SECTION_LABEL_ZOOM).add_to(m)
    if selected is not None:
        minx, miny, maxx, maxy = shape.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]], max_zoom=18)
    else:
        extent = territory_extent()
        if extent is not None:
            from .geometry import reproject
            import shapely

            box = reproject(shapely.box(*extent), 2154, 4326)
            minx, miny, maxx, maxy = box.bounds
            m.fit_bounds([[miny, minx], [maxy, maxx]])
        else:
            coll = g.get("collectivity")
            m.location, m.options["zoom"] = [48.3, 4.1], 9  # the department when nothing is imported yet
    html = m.get_root().render()
    return html


@bp.get("/carte")
def map_document():
    idu = (request.args.get("parcelle") or "").strip().upper()
    selected = None
    if idu:
        selected = db.session.scalar(select(Parcel).where(Parcel.idu == idu, Parcel.current.is_(True)))
    resp = Response(build_map(selected), mimetype="text/html")
    basemap = current_app.config.get("CADASTRE_BASEMAP_URL") or ""
    origin = re.match(r"^(https?://[^/{]+)", basemap)
    resp.headers["Content-Security-Policy"] = MAP_CSP.format(basemap=origin.group(1) if origin else "")
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


@bp.get("/tuiles/acces")
def tile_access():
    """A fresh tile URL template (grant) for the open map, which renews its grant before it expires."""
    return jsonify(url=tiles_template("cadastre.tile"), expires_in=grants.max_age())


@bp.get("/tuiles/<int:z>/<int:x>/<int:y>.pbf")
@grants.accepts_grant
def tile(z: int, x: int, y: int):
    data = spatial.tile(z, x, y)
    if not data:
        # Nothing of the territory in this tile (or a zoom without layers): Leaflet.VectorGrid draws nothing.
        abort(404)
    return Response(data, mimetype="application/vnd.mapbox-vector-tile",
                    headers={"Cache-Control": "private, max-age=300"})


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
                           parcels=parcels, today=dt.date.today().strftime("%d/%m/%Y"))
    return pdf_response(render_pdf(html), f"releve-propriete-{account.strip('+')}.pdf")
