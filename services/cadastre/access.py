"""Who may see what in the land registry: the lookups that answer 404 outside the territory, the purpose rule.

The territory itself is applied below (portal/tenancy.py): a parcel of another territory is simply not found. The
permissions are declared in the descriptor (``__init__.py``); reading owners also needs a purpose (motif), recorded
with every read (``owners.py``).
"""
from __future__ import annotations

import re

from flask import abort, request
from sqlalchemy import select

from portal.extensions import db

from .models import Parcel

IDU_FULL = re.compile(r"^\d[\dAB]\d{3}[0-9]{3}[0-9A-Z]{2}\d{4}$")
PURPOSE_MIN = 5


def current_parcel_or_404(idu: str) -> Parcel:
    """The current parcel of that 14-character id in the territory, else 404 (unknown and foreign alike)."""
    idu = (idu or "").strip().upper()
    if not IDU_FULL.match(idu):
        abort(404)
    parcel = db.session.scalar(select(Parcel).where(Parcel.idu == idu, Parcel.current.is_(True)))
    if parcel is None:
        abort(404)
    return parcel


def purpose_arg() -> str | None:
    """The purpose the user typed (motif), or None when missing or too short."""
    value = " ".join((request.args.get("motif") or "").split())[:200]
    return value if len(value) >= PURPOSE_MIN else None


def selected_parcel() -> Parcel | None:
    """The current parcel named by ``?parcelle=`` (the map's selection), None when absent or not in the territory."""
    idu = (request.args.get("parcelle") or "").strip().upper()
    if not idu:
        return None
    return db.session.scalar(select(Parcel).where(Parcel.idu == idu, Parcel.current.is_(True)))
