"""Absolute URLs (e-mail links, feeds, TileJSON…) built from ``BASE_URL``, never from the request.

Werkzeug's ``url_for(..., _external=True)`` takes the host of the request, i.e. its ``Host`` header: a request with
a forged header (« mot de passe oublié » asked with ``Host: evil.example``) would mail a link to another site
carrying the reset token. Every absolute URL of the portal and its services goes through :func:`absolute_url`, and
a test (tests/portal/test_security_production.py) keeps ``_external=True``, ``url_root`` and ``host_url`` out of the
tree.
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import current_app, has_request_context, request
from werkzeug.routing import IntegerConverter

DATABASE_INT_MAX = 2**31 - 1  # PostgreSQL ``integer`` (every id of the schema)


def base_url() -> str:
    """``BASE_URL`` without its trailing slash: the portal's public address."""
    return current_app.config["BASE_URL"].rstrip("/")


def absolute_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` as an absolute URL under ``BASE_URL``, in a request or outside one
    (workers, CLI). ``_anchor`` is supported as with ``url_for``; ``.name`` resolves in the current blueprint."""
    app = current_app._get_current_object()
    anchor = values.pop("_anchor", None)
    if endpoint.startswith(".") and has_request_context() and request.blueprint:
        endpoint = request.blueprint + endpoint
    app.inject_url_defaults(endpoint, values)
    base = urlsplit(base_url())
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    url = adapter.build(endpoint, values, force_external=True)
    if anchor is not None:
        url += "#" + quote(anchor, safe="%!#$&'()*+,/:;=?@")
    return url


def absolute(path: str) -> str:
    """A path of the portal (``/p/…``) as an absolute URL under ``BASE_URL``."""
    return base_url() + "/" + path.lstrip("/")


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` of every route: a non-negative integer the database's ``integer`` columns can hold. A larger one
    (``/p/tenders/2147483648``) matches no route — 404 — instead of an overflow error from PostgreSQL (≥ 2³¹) or
    SQLite (≥ 2⁶³)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = DATABASE_INT_MAX,
                 signed: bool = False) -> None:  # noqa: A002 - werkzeug's argument names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
