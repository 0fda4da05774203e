"""Alerts to part of a commune: whether a subscriber lives in a zone drawn on the map (their geocoded address
inside the polygon) or in chosen streets."""
from __future__ import annotations

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
