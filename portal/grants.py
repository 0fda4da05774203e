"""Access grants: short-lived signed capabilities that the service gate accepts, on the views that say so, in place
of a signed-in user — for requests that come by the dozen, such as a map's vector tiles.

A request the gate let through in full (signed in, active collectivity, convention in force and service enabled,
permission held) may :func:`issue` a grant for its service: a token signed with the application's ``SECRET_KEY``
(itsdangerous, HMAC-SHA256, one salt per service) that carries the collectivity, its territory and the time it was
signed. A view marked :func:`accepts_grant` and asked with ``?grant=<token>`` is then let through by the gate on the
token alone — signature, service and age checked, no database read — and the gate activates the grant's territory
through :mod:`portal.tenancy`, the same choke point as for a user: the ORM filter and, on PostgreSQL, row-level
security. Nothing else is reachable with a grant: the other views of the service, the portal and the other services
ignore the parameter and ask for a user as always.

What a grant can show is what the issuing user could see of that service at the time (for the cadastre: the plan's
geometries and parcel ids, never owners). A grant lives ``GRANT_MAX_AGE`` seconds (default 600): a membership
removed or a service switched off stops the grants already issued when they expire, as the tiles already in a
browser's cache (five minutes) would. Pages that use grants renew them through the normal gate before they expire.
"""
from __future__ import annotations

import functools
import hashlib
import logging

from flask import current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

log = logging.getLogger(__name__)

PARAM = "grant"
DEFAULT_MAX_AGE = 600


def _serializer(slug: str) -> URLSafeTimedSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], slug)


@functools.lru_cache(maxsize=64)
def _serializer_for(secret_key: str, slug: str) -> URLSafeTimedSerializer:
    """One per key and service (its signing key is derived once, not at every tile)."""
    return URLSafeTimedSerializer(secret_key, salt=f"portal.grant:{slug}",
                                  signer_kwargs={"digest_method": hashlib.sha256})


def max_age() -> int:
    return int(current_app.config.get("GRANT_MAX_AGE") or DEFAULT_MAX_AGE)


def issue(slug: str, collectivity, territory) -> str:
    """A grant of service ``slug`` for ``collectivity`` and its territory (INSEE codes), valid ``max_age()`` s."""
    return _serializer(slug).dumps({"c": collectivity.id, "t": sorted(territory)})


def verify(slug: str, token: str) -> dict | None:
    """The grant's content ({"c": collectivity id, "t": [INSEE codes]}) when ``token`` is a grant of service ``slug``
    signed here less than ``max_age()`` seconds ago; None otherwise (logged)."""
    if not token or len(token) > 8192:
        return None
    try:
        claims = _serializer(slug).loads(token, max_age=max_age())
    except SignatureExpired:
        log.info("expired %s grant on %s", slug, request.path)
        return None
    except BadSignature:
        log.warning("refused %s grant with a bad signature on %s", slug, request.path)
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("t"), list) \
            or not all(isinstance(code, str) for code in claims["t"]):
        log.warning("refused malformed %s grant on %s", slug, request.path)
        return None
    return claims


def accepts_grant(view):
    """Mark a service view as reachable with a grant of its service (``?grant=…``) as well as by a user. Such a view
    must rely on the territory only (``g.collectivity``, ``g.permissions`` and ``current_user`` are not set)."""

    view._accepts_grant = True
    return view


def granted_request() -> bool:
    """The current request asks a grant-accepting view with a grant (the gate then checks the grant)."""
    if PARAM not in request.args or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "_accepts_grant", False))
