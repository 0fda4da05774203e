"""The map of the commune's polling stations: a document of the portal's map builder (``portal.maps``) shown in an
iframe of the bureaux pages, each located bureau a labelled point, the selected one in red.

In the bureau's edit form (``pick``), ``static/map.js`` lets a click set the bureau's location: it tells the page
around the map the coordinates (postMessage, same origin only).
"""
from __future__ import annotations

from flask import Response, url_for
from flask_babel import gettext as _

from portal.maps import map_config, map_document

from .models import PollingStation

PICK_MESSAGE = "electoral-location"  # the postMessage type electoral.js listens to


def map_response(bureaux: list[PollingStation], selected: PollingStation | None, pick: bool) -> Response:
    located = [b for b in bureaux if b.latitude is not None and b.longitude is not None]
    points = [{"lat": b.latitude, "lon": b.longitude, "label": _("Polling station %(n)s", n=b.label),
               "style": {"color": "#ce0500", "radius": 10, "weight": 3} if selected is not None and b.id == selected.id
               else {"color": "#000091"}} for b in located]
    view: dict = {}
    if selected is not None and selected.latitude is not None and selected.longitude is not None:
        view = {"center": (selected.latitude, selected.longitude), "zoom": 16}
    elif len(located) == 1:
        view = {"center": (located[0].latitude, located[0].longitude), "zoom": 15}
    elif located:
        view = {"bounds": [[min(b.latitude for b in located), min(b.longitude for b in located)],
                           [max(b.latitude for b in located), max(b.longitude for b in located)]]}
    config = map_config(points=points, data={"pick": PICK_MESSAGE} if pick else {}, **view)
    return map_document(config, title=_("Map of the polling stations"),
                        scripts=[url_for("electoral.static", filename="map.js")] if pick else [])
