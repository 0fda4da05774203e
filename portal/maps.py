"""Every map of the portal built one way: the vendored Leaflet, the configured base layer, its attribution, no inline
script.

A map is a ``<div class="portal-map" data-map='…'>`` whose JSON configuration (:func:`map_config`) is read by
``portal/static/js/maps.js``, which draws the base layer (``MAP_BASEMAP_URL``, default the public IGN Plan WMTS,
attribution ``MAP_BASEMAP_ATTRIBUTION``), a scale, the outlines and labelled points of the configuration, and sets the
view. What a service adds (drawing a zone, vector tiles, clicks) lives in its own static script, which waits for the
``portal:map`` event (``event.detail.map`` is the Leaflet map, ``event.detail.config`` the configuration, whose
``data`` key carries the service's own values). The CSP (``portal/security.py``) allows images from the base layer's
host, once for every page (:func:`basemap_origin`); an empty ``MAP_BASEMAP_URL`` draws no base layer and loads
nothing from outside.

Python: :func:`map_config` (the configuration), :func:`map_document` (a whole HTML document for an ``<iframe>``).
Templates (Jinja globals): ``map_config(...)`` and the macros of ``_map.html``: ``map_head(vectorgrid=False)`` puts
Leaflet's CSS and scripts in ``{% block head %}``, ``map_div(id, config, label)`` the map itself.

Examples, one per map of the portal:

- A zone drawn on the commune (alerts, in a page)::

      {% from "_map.html" import map_head, map_div %}
      {% block head %}{{ map_head() }}<script src="{{ url_for('alerts.static', filename='alerts.js') }}" defer>
      </script>{% endblock %}
      {{ map_div("zone-map", map_config(data={"url": url_for("alerts_api.api_map")}), _("Zone of the alert")) }}

      // alerts.js
      document.addEventListener("portal:map", function (e) {
        if (e.target.id !== "zone-map") { return; }
        var map = e.detail.map;  // fetch e.detail.config.data.url, fit the commune, draw the polygon on clicks
      });

- Labelled points, the selected one in red (electoral bureaux, an iframe document)::

      config = map_config(points=[{"lat": b.latitude, "lon": b.longitude, "label": _("Polling station %(n)s", n=b.label),
                                   "style": {"color": "#ce0500" if b is selected else "#000091"}} for b in bureaux],
                          center=(selected.latitude, selected.longitude) if selected else None, zoom=16,
                          data={"pick": pick})
      return map_document(config, title=_("Map of the polling stations"),
                          scripts=[url_for("electoral.static", filename="map.js")])  # map.js: the click to pick

- Vector tiles over the base layer (cadastre, an iframe document)::

      config = map_config(bounds=[[miny, minx], [maxy, maxx]], max_zoom=spatial.MAX_ZOOM,
                          outlines=[{"geojson": selected_shape, "style": SELECTED_STYLE}],
                          data={"tiles": tiles_template("cadastre.tile"), "styles": styles, "labels": labels})
      return map_document(config, title=_("Cadastral map"), vectorgrid=True,
                          scripts=[url_for("cadastre.static", filename="map.js")],  # L.vectorGrid.protobuf(…)
                          styles=[url_for("cadastre.static", filename="map.css")])
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

from flask import Flask, Response, current_app, render_template, url_for

IGN_PLAN_WMTS = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
IGN_ATTRIBUTION = "© IGN – Plan IGN"
BASEMAP_MAX_NATIVE_ZOOM = 19  # the PM tile matrix set of Plan IGN v2 stops at 19
FRANCE_VIEW = ((46.6, 2.5), 6)  # before anything is located, when the département has no boundaries loaded
MAP_DOCUMENT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: {basemap}; connect-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def settings_from_env() -> dict:
    """The map settings of the portal's configuration (``portal/config.py``)."""
    return {
        "MAP_BASEMAP_URL": os.environ.get("MAP_BASEMAP_URL", IGN_PLAN_WMTS).strip(),
        "MAP_BASEMAP_ATTRIBUTION": os.environ.get("MAP_BASEMAP_ATTRIBUTION", IGN_ATTRIBUTION).strip(),
    }


def basemap_origin(config) -> str:
    """``https://host[:port]`` of the base layer, for the CSP; empty when there is no base layer."""
    match = re.match(r"^(https?://[^/?{]+)", (config.get("MAP_BASEMAP_URL") or "").strip())
    return match.group(1) if match else ""


def map_config(*, center: Sequence[float] | None = None, zoom: int | None = None,
               bounds: Sequence[Sequence[float]] | None = None, outlines: Iterable[dict] = (),
               points: Iterable[dict] = (), max_zoom: int = 19, data: dict | None = None) -> dict:
    """The JSON configuration ``maps.js`` draws.

    ``bounds`` ([[south, west], [north, east]]) wins over ``center`` + ``zoom``; with neither, the department.
    ``outlines``: ``{"geojson": …, "style": {Leaflet path options}}``, not clickable. ``points``: ``{"lat", "lon",
    "label" (a permanent tooltip, text only), "style": {Leaflet circle-marker options}}``. ``data``: the service's own.
    """
    config = current_app.config
    url = config.get("MAP_BASEMAP_URL") or ""
    view: dict
    if bounds is not None:
        view = {"bounds": [list(bounds[0]), list(bounds[1])]}
    elif center is not None:
        view = {"center": list(center), "zoom": zoom if zoom is not None else 15}
    else:  # the page's département (portal/identity.py), from its communes' boundaries
        from .identity import current_bounds

        box = current_bounds()
        view = {"bounds": box} if box else {"center": list(FRANCE_VIEW[0]), "zoom": FRANCE_VIEW[1]}
    return {
        "basemap": {"url": url, "attribution": config.get("MAP_BASEMAP_ATTRIBUTION") or "",
                    "maxNativeZoom": BASEMAP_MAX_NATIVE_ZOOM} if url else None,
        "view": view,
        "maxZoom": max_zoom,
        "outlines": list(outlines),
        "points": list(points),
        "data": data or {},
    }


def map_assets(vectorgrid: bool = False) -> dict:
    """The stylesheets and scripts of a map page, in their order: Leaflet (+ VectorGrid), then ``maps.js``."""
    static = lambda name: url_for("static", filename=name)  # noqa: E731
    scripts = [static("vendor/leaflet/leaflet.js")]
    if vectorgrid:
        scripts.append(static("vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"))
    scripts.append(static("js/maps.js"))
    return {"styles": [static("vendor/leaflet/leaflet.css"), static("css/maps.css")], "scripts": scripts}


def map_document(config: dict, *, title, scripts: Sequence[str] = (), styles: Sequence[str] = (),
                 vectorgrid: bool = False, label=None) -> Response:
    """A whole HTML document showing one map, for an ``<iframe>`` of the same origin (title, ``lang``, landmark)."""
    html = render_template("map_document.html", config=config, title=title, label=label or title,
                           assets=map_assets(vectorgrid), scripts=scripts, styles=styles)
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = MAP_DOCUMENT_CSP.format(
        basemap=basemap_origin(current_app.config)).replace(" ;", ";")
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


def register(app: Flask) -> None:
    """Jinja globals ``map_config`` and ``map_assets``."""
    app.jinja_env.globals["map_config"] = map_config
    app.jinja_env.globals["map_assets"] = map_assets

