"""Who may reach what in the alerts service: the ``*_or_404`` lookups of the staff pages, the API and the residents'
pages. Only communes use the service (an EPCI has no residents list of its own): the descriptor says so
(``collectivity_kinds``) and the portal's gate applies it.

Lookups rely on the tenancy choke point: another commune's row is simply not found (404). The residents' pages
(anonymous) enter the one commune of their URL through :func:`public_commune`.
"""
from __future__ import annotations

from contextlib import contextmanager

from flask import abort, g
from sqlalchemy import select

from portal import lookups
from portal.extensions import db
from portal.models import Collectivity

from .models import Alert, Subscriber


def commune_insee() -> str:
    """The INSEE code of the active commune; 403 for any other active collectivity."""
    coll = g.get("collectivity")
    if coll is None or coll.kind != "commune" or not coll.insee:
        abort(403)
    return coll.insee


def alert_or_404(alert_id: int) -> Alert:
    """An alert or individual message of the active commune (never a test message)."""
    alert = db.session.scalar(select(Alert).where(Alert.id == alert_id, Alert.kind != "test"))
    if alert is None:
        abort(404)
    return alert


def earlier_alert_or_404(reference: str | None, msg_type: str | None) -> tuple[Alert | None, str]:
    """The list alert an update or end of alert follows, and the message type ("alert" when there is none)."""
    if not reference:
        return None, "alert"
    msg_type = msg_type or "update"
    if msg_type not in ("update", "cancel") or not str(reference).isdigit():
        abort(404)
    earlier = db.session.scalar(select(Alert).where(Alert.id == int(reference), Alert.kind == "broadcast"))
    if earlier is None:  # unknown, or another commune's (the choke point hides it)
        abort(404)
    return earlier, msg_type


@contextmanager
def public_commune(insee: str):
    """The commune of a residents' page, entered as the territory of the block (``portal.lookups.public_commune``);
    404 when it does not offer the service. Kept in ``g.alerts_commune`` for the page's templates."""
    with lookups.public_commune(insee, "alerts") as coll:
        g.alerts_commune = coll
        yield coll


def subscriber_or_404(token: str) -> Subscriber:
    """The resident whose secret link this is, in the commune entered by :func:`public_commune`."""
    sub = db.session.scalar(select(Subscriber).where(Subscriber.token == token))
    if sub is None:
        abort(404)
    return sub


def department_commune_or_404(insee: str) -> Collectivity:
    """A commune of the department (the department's pages set allowances for any of them)."""
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee, Collectivity.kind == "commune"))
    if coll is None:
        abort(404)
    return coll
