"""Finding the active collectivity's own things, written once for every service.

- :func:`get_or_404` — one row by primary key (or by other columns) through the tenancy filter: a row of another
  territory is "not found", like a row that does not exist. Replaces each service's ``*_or_404``::

      voter = get_or_404(Voter, voter_id)
      lot = get_or_404(TenderLot, lot_id, tender_id=tender.id)
      parcel = get_or_404(Parcel, idu=idu, current=True)

  Territory-scoped models (``portal.tenancy.TerritoryScoped``) are narrowed by the ORM filter of
  ``portal/tenancy.py`` (and by row-level security on PostgreSQL); models owned by a collectivity
  (a ``collectivity_id`` column) must belong to the active collectivity. The query always reaches the database,
  so an object already in the session from a wider context is never returned by mistake.
- :func:`active_commune` / :func:`active_insee` — the active collectivity when it is a commune (403 otherwise): the one
  accessor of "the commune we work for". Whether a service is for communes only is declared once, in its
  descriptor (``collectivity_kinds``), and enforced by the gate; these accessors are for the code that needs the
  commune itself.
- :func:`public_commune` — a residents' page of a service about one commune (``/p/<slug>/<insee>/…``): the commune,
  404 when it does not offer the service, and the block run in its territory (ORM filter and row-level security).
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import abort, g
from sqlalchemy import inspect, select

from .extensions import db
from .tenancy import TerritoryScoped, territory_scope


def get_or_404(model, ident=None, **columns):
    """The row of ``model`` with primary key ``ident`` (and ``columns``), within the active territory, or 404."""
    stmt = select(model)
    if ident is not None:
        [pk] = inspect(model).primary_key
        stmt = stmt.where(pk == ident)
    elif not columns:
        raise TypeError("get_or_404 needs a primary key or columns")
    for name, value in columns.items():
        stmt = stmt.where(getattr(model, name) == value)
    obj = db.session.scalars(stmt.limit(2)).first()
    if obj is None:
        abort(404)
    if not issubclass(model, TerritoryScoped) and hasattr(model, "collectivity_id"):
        collectivity = g.get("collectivity")
        if collectivity is None or obj.collectivity_id != collectivity.id:
            abort(404)
    return obj


def active_commune():
    """The active collectivity, which must be a commune with an INSEE code (403 otherwise)."""
    collectivity = g.get("collectivity")
    if collectivity is None or collectivity.kind != "commune" or not collectivity.insee:
        abort(403)
    return collectivity


def active_insee() -> str:
    """The INSEE code of the active commune (403 when the active collectivity is not a commune)."""
    return active_commune().insee


@contextmanager
def public_commune(insee: str, service_slug: str):
    """The commune ``insee`` entered as the territory of the block, for a public page of ``service_slug``; 404 when
    it is not a commune or does not offer the service (no convention in force covering it, or not enabled)."""
    from .models import Collectivity
    from .registry import is_subscribed

    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee, Collectivity.kind == "commune"))
    if coll is None or not is_subscribed(coll, service_slug):
        abort(404)
    g.public_collectivity = coll  # the page wears the commune's département's identity (portal/identity.py)
    with territory_scope({insee}):  # a transaction begun before the scope follows it (portal/tenancy.py)
        yield coll
