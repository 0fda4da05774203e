"""The panel the commune's home page can show: upcoming legal deadlines of its elections.

The descriptor passes this function as ``home_panel``; the portal's home page renders its HTML under the tiles. The
elections are read as the columns their calendar and the panel need (rows, not ORM objects).
"""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import bindparam, select

from portal.home import render_panel
from portal.identity import today as local_today
from portal.extensions import db
from portal.tenancy import kept

from .calendar import upcoming
from .models import Election

_COLUMNS = (Election.id, Election.title, Election.kind, Election.first_round, Election.second_round,
            Election.registration_deadline, Election.registration_deadline_reference)


@functools.cache
def _elections_statement():
    """The elections whose first round is ``since`` or later (built once: see ``portal.tenancy.kept``)."""
    return kept(select(*_COLUMNS).where(Election.first_round >= bindparam("since")))


def home_panel(collectivity, permissions) -> str | None:
    """HTML of the upcoming deadlines (next 5), or None when there is none or the user may not read the rolls."""
    if collectivity is None or collectivity.kind != "commune" or "electoral.read" not in permissions:
        return None
    today = local_today(collectivity)
    elections = db.session.execute(_elections_statement(), {"since": today - dt.timedelta(days=1)})
    items = upcoming(elections.all(), today)
    if not items:
        return None
    return render_panel("electoral/_home_panel.html", deadlines=items)
