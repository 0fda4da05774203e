"""The panel the commune's home page can show: upcoming legal deadlines of its elections.

The descriptor passes this function as ``home_panel``; the portal's home page renders its HTML under the tiles.
"""
from __future__ import annotations

import datetime as dt

from flask import render_template
from sqlalchemy import select

from portal.identity import today as local_today
from portal.extensions import db

from .calendar import upcoming
from .models import Election


def home_panel(collectivity, permissions) -> str | None:
    """HTML of the upcoming deadlines (next 5), or None when there is none or the user may not read the rolls."""
    if collectivity is None or collectivity.kind != "commune" or "electoral.read" not in permissions:
        return None
    today = local_today(collectivity)
    elections = db.session.scalars(select(Election).where(Election.first_round >= today - dt.timedelta(days=1))).all()
    items = upcoming(elections, today)
    if not items:
        return None
    return render_template("electoral/_home_panel.html", deadlines=items)
