"""The one place that checks who owns a tender (the buying collectivity: a commune or an EPCI) and who may do what
with it.

Tenders are collectivity-owned rather than territory-scoped (see models.py), so they do not go through the
portal's commune filter; views reach them only through these helpers, which wrap the portal's
``owned_or_404`` / ``owned_query``.
"""
from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from portal.extensions import db
from portal.tenancy import owned_or_404, owned_query

from .models import Tender


def tender_or_404(tender_id: int) -> Tender:
    return owned_or_404(Tender, tender_id)


def owned_tenders():
    return owned_query(Tender)


def child_or_404(model, child_id: int, tender: Tender):
    """A lot, attachment or question of a tender the active collectivity owns."""
    obj = db.session.get(model, child_id)
    if obj is None or obj.tender_id != tender.id:
        abort(404)
    return obj


def published_or_404(tender_id: int) -> Tender:
    """For the public pages: a tender that was published (open, closed or awarded), whoever asks."""
    t = db.session.scalar(select(Tender).where(Tender.id == tender_id, Tender.status != "draft"))
    if t is None:
        abort(404)
    return t


def require(permission: str) -> None:
    """403 unless the active membership holds ``permission`` (for views whose GET is open to readers but whose POST
    writes: the gate already checked ``tenders.read``)."""
    if permission not in g.permissions:
        abort(403)


def editable(t: Tender) -> bool:
    """A consultation can be changed only while it is a draft (published ones change through correction notices)."""
    return t.status == "draft"
