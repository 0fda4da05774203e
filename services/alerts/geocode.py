"""Geocoding of subscribers' street addresses with the Base Adresse Nationale search API (for alerts to a zone).

API followed: the BAN address search, ``GET <ALERTS_GEOCODER_URL>?q=<address>&citycode=<INSEE>&limit=1`` answering a
GeoJSON FeatureCollection whose features carry ``geometry.coordinates`` = [lon, lat] (WGS84) and ``properties``
``label``, ``score``, ``type``, ``street`` / ``name``, ``citycode`` (adresse.data.gouv.fr documentation; the same
service is now run by IGN at https://data.geopf.fr/geocodage/search with the same parameters and answer). Set
``ALERTS_GEOCODER_URL`` to an empty string to switch geocoding off (addresses are then matched by street name only).

Geocoding runs in a Celery task after the subscription commits (the resident never waits for it); a failure leaves
the location "error" and the next ``alerts.flush`` tries again.
"""
from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.outbox import enqueue_after_commit

from portal.settings import setting
from .models import Subscriber, SubscriberLocation, utcnow

log = logging.getLogger("services.alerts.geocode")

DEFAULT_URL = "https://api-adresse.data.gouv.fr/search/"
MIN_SCORE = 0.5


class GeocoderUnavailable(Exception):
    pass


def search(address: str, insee: str) -> dict | None:
    url = setting("ALERTS_GEOCODER_URL")
    if not url:
        return None
    query = urllib.parse.urlencode({"q": address, "citycode": insee, "limit": 1})
    try:
        with urllib.request.urlopen(f"{url}?{query}", timeout=float(setting(
                "ALERTS_GEOCODER_TIMEOUT") or 5)) as resp:  # noqa: S310 - configured URL
            data = json.loads(resp.read() or b"{}")
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise GeocoderUnavailable(repr(exc)) from exc
    for feature in data.get("features") or []:
        props = feature.get("properties") or {}
        coords = (feature.get("geometry") or {}).get("coordinates") or []
        if len(coords) != 2 or props.get("citycode") not in (None, insee):
            continue
        score = float(props.get("score") or 0)
        if score < MIN_SCORE:
            continue
        street = props.get("street") or (props.get("name") if props.get("type") == "street" else "") or ""
        return {"lon": float(coords[0]), "lat": float(coords[1]), "label": props.get("label") or "",
                "street": street, "score": score}
    return {}


def request_geocoding(sub: Subscriber) -> None:
    """Mark the subscriber's address for geocoding after the current transaction commits."""
    if not sub.address:
        if sub.location is not None:
            sub.location = None
        return
    if sub.location is None:
        sub.location = SubscriberLocation(commune_insee=sub.commune_insee)
    sub.location.status, sub.location.latitude, sub.location.longitude = "pending", None, None
    sub.location.street, sub.location.label, sub.location.score = "", "", None
    db.session.flush()
    from .tasks import geocode

    enqueue_after_commit(geocode, sub.id)


def geocode_subscriber(subscriber_id: int) -> str:
    with Session(db.engine) as session:
        sub = session.get(Subscriber, subscriber_id)
        if sub is None or sub.location is None or not sub.address:
            return "skipped"
        loc = sub.location
        try:
            found = search(sub.address, sub.commune_insee)
        except GeocoderUnavailable as exc:
            loc.status = "error"
            log.warning("geocoding subscriber %s: geocoder unavailable (%s)", sub.id, exc)
        else:
            if found is None:
                loc.status = "off"
            elif not found:
                loc.status = "not_found"
            else:
                loc.status, loc.latitude, loc.longitude = "found", found["lat"], found["lon"]
                loc.street, loc.label, loc.score = found["street"][:200], found["label"][:300], found["score"]
        loc.geocoded_at = utcnow()
        session.commit()
        return loc.status


def retry_errors() -> int:
    with Session(db.engine) as session:
        ids = session.scalars(select(SubscriberLocation.subscriber_id)
                              .where(SubscriberLocation.status.in_(("pending", "error")))).all()
    for sid in ids:
        geocode_subscriber(sid)
    return len(ids)
