"""Alerts to part of a commune: whether a subscriber lives in a zone drawn on the map (their geocoded address
inside the polygon) or in chosen streets, and the zone a compose form describes."""
from __future__ import annotations

import json

from flask_babel import gettext as _

from portal.models import fold

from .models import Subscriber


def in_zone(sub: Subscriber, zone: dict | None, shape=None) -> bool:
    """Whether the subscriber lives in the zone: inside the polygon (geocoded address), or in one of the streets
    (geocoded street name, or the street written in the address when it could not be geocoded)."""
    if not zone:
        return True
    loc = sub.location
    if zone.get("type") == "Polygon":
        if loc is None or loc.status != "found" or shape is None:
            return False
        from shapely.geometry import Point

        return shape.covers(Point(loc.longitude, loc.latitude))
    if zone.get("type") == "streets":
        wanted = {fold(s) for s in zone.get("streets") or [] if s}
        if loc is not None and loc.street and fold(loc.street) in wanted:
            return True
        address = f" {fold(sub.address)} "
        return any(f" {w} " in address for w in wanted)
    return False


def zone_shape(zone: dict | None):
    if not zone or zone.get("type") != "Polygon":
        return None
    from shapely.geometry import shape

    return shape(zone)


def parse_zone(raw: str, streets: list[str]) -> tuple[dict | None, str | None]:
    """The zone of the form: a drawn polygon (GeoJSON, WGS84) or streets. Returns (zone, French error)."""
    raw = (raw or "").strip()
    if raw:
        try:
            geom = json.loads(raw)
            ring = geom["coordinates"][0]
            ok = (geom.get("type") == "Polygon" and len(ring) >= 4
                  and all(len(p) == 2 and -180 <= float(p[0]) <= 180 and -90 <= float(p[1]) <= 90 for p in ring))
        except (ValueError, KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            return None, _("The zone drawn on the map is not a closed area: draw at least three points.")
        from shapely.geometry import shape

        if not shape(geom).is_valid:
            return None, _("The zone drawn on the map crosses itself: draw it again.")
        return {"type": "Polygon", "coordinates": [[[float(x), float(y)] for x, y in ring]]}, None
    if streets:
        return {"type": "streets", "streets": list(streets)}, None
    return None, None
