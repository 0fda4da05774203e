"""The map of the commune's polling stations (a folium document shown in an iframe of the bureaux pages).

In the bureau's edit form, a click on the map sets the bureau's location (``pick``).
"""
from __future__ import annotations

import html
import re

import folium
from flask import Response, current_app, url_for
from flask_babel import gettext as _
from folium.elements import MacroElement
from folium.template import Template

from .models import PollingStation

MAP_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: {basemap}; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
           "form-action 'none'")


class _PickLocation(MacroElement):
    """In the bureau's edit form: a click on the map drops a marker and tells the page around it the coordinates
    (postMessage, same origin only); the page fills the latitude and longitude fields."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var pickMarker = null;
        {{ this._parent.get_name() }}.on('click', function (e) {
            var lat = Math.round(e.latlng.lat * 1e6) / 1e6, lon = Math.round(e.latlng.lng * 1e6) / 1e6;
            if (pickMarker) { pickMarker.setLatLng(e.latlng); }
            else { pickMarker = L.circleMarker(e.latlng, {radius: 9, color: '#ce0500', weight: 3}).addTo({{ this._parent.get_name() }}); }
            if (window.parent !== window) {
                window.parent.postMessage({type: 'electoral-location', lat: lat, lon: lon}, window.location.origin);
            }
        });
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "PickLocation"


def _center(m, selected: PollingStation | None, points: list) -> None:
    if selected is not None and selected.latitude is not None and selected.longitude is not None:
        m.location, m.options["zoom"] = [selected.latitude, selected.longitude], 16
    elif len(points) == 1:
        m.location, m.options["zoom"] = list(points[0]), 15
    elif points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(30, 30))
    else:
        m.location, m.options["zoom"] = [48.3, 4.1], 9  # the department, before any bureau is located


def build_map(bureaux: list[PollingStation], selected: PollingStation | None, pick: bool) -> str:
    """A folium map of the commune's bureaux (each one a labelled point); the selected one in red."""
    static = lambda f: url_for("electoral.static", filename=f)  # noqa: E731
    m = folium.Map(tiles=None, control_scale=True, zoom_control=True, max_zoom=19)
    m.default_js = [("leaflet", static("vendor/leaflet/leaflet.js"))]
    m.default_css = [("leaflet_css", static("vendor/leaflet/leaflet.css")), ("electoral_map_css", static("map.css"))]
    basemap = current_app.config.get("ELECTORAL_BASEMAP_URL") or ""
    if basemap:
        folium.TileLayer(basemap, attr=current_app.config.get("ELECTORAL_BASEMAP_ATTRIBUTION") or "OpenStreetMap",
                         name=_("Base map"), max_zoom=19).add_to(m)
    points = []
    for b in bureaux:
        if b.latitude is None or b.longitude is None:
            continue
        chosen = selected is not None and b.id == selected.id
        # a permanent label (no popup: folium's popups need jQuery, which the map does not load)
        label = html.escape(_("Polling station %(n)s", n=b.label)).replace("`", "&#96;").replace("$", "&#36;")
        folium.CircleMarker([b.latitude, b.longitude], radius=10 if chosen else 7, weight=3 if chosen else 2,
                            color="#ce0500" if chosen else "#000091", fill=True, fill_opacity=0.6,
                            tooltip=folium.Tooltip(label, permanent=True, direction="right")).add_to(m)
        points.append((b.latitude, b.longitude))
    _center(m, selected, points)
    if pick:
        _PickLocation().add_to(m)
    return m.get_root().render()


def map_response(bureaux: list[PollingStation], selected: PollingStation | None, pick: bool) -> Response:
    """The map document with its own CSP (folium's inline script; the base map's host when one is set)."""
    resp = Response(build_map(bureaux, selected, pick), mimetype="text/html")
    origin = re.match(r"^(https?://[^/{]+)", current_app.config.get("ELECTORAL_BASEMAP_URL") or "")
    resp.headers["Content-Security-Policy"] = MAP_CSP.format(basemap=origin.group(1) if origin else "")
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp
