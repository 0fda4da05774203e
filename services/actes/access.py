"""The one place that checks who may reach an act: the collectivity that took it (a commune or an EPCI).

Acts are collectivity-owned (see models.py) and also territory-scoped; views reach them only through these helpers,
which wrap the portal's ``owned_or_404`` / ``owned_query``. The public pages reach published acts only.
"""
from __future__ import annotations

from flask import abort
from sqlalchemy import select

from portal.extensions import db
from portal.models import Collectivity
from portal.tenancy import owned_or_404, owned_query

from .models import Act, ActFile, PrefectureReply


def act_or_404(act_id: int) -> Act:
    return owned_or_404(Act, act_id)


def owned_acts():
    return owned_query(Act)


def file_or_404(act: Act, file_id: int) -> ActFile:
    f = db.session.get(ActFile, file_id)
    if f is None or f.act_id != act.id:
        abort(404)
    return f


def reply_or_404(act: Act, reply_id: int) -> PrefectureReply:
    r = db.session.get(PrefectureReply, reply_id)
    if r is None or r.act_id != act.id:
        abort(404)
    return r


def published_acts_of(commune: Collectivity):
    """Acts of a commune published on its public page (never individual ones, never cancelled ones)."""
    return (select(Act).where(Act.collectivity_id == commune.id, Act.published_at.is_not(None),
                              Act.publication_kind != "individual", Act.status == "acknowledged")
            .order_by(Act.published_at.desc()))


def published_or_404(commune: Collectivity, act_id: int) -> Act:
    act = db.session.scalar(published_acts_of(commune).where(Act.id == act_id))
    if act is None:
        abort(404)
    return act
