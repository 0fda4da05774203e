"""The dates the product calls « today », for tests to compare with.

The product's « today » is the legal date of the collectivity's département (``portal.identity.today``): Paris time
for the Aube, UTC+3 for Mayotte. ``datetime.date.today()`` is the test machine's (UTC on CI): from 23:00 UTC (22:00
in summer; 21:00 for Mayotte) until midnight UTC it is still yesterday there, while the product is already at
tomorrow's date. A test that builds « today » or « tomorrow » with it and expects the product to agree fails every
night in that window. These helpers read the product's zones.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

AUBE = "Europe/Paris"  # the session's département (DEPARTMENT_CODE 10; portal/data/aube/identity.toml)
MAYOTTE = "Indian/Mayotte"  # tests/data/territory/976


def legal_today(zone: str = AUBE) -> dt.date:
    """Today in ``zone``: what ``portal.identity.today()`` answers for a collectivity of that département."""
    return dt.datetime.now(ZoneInfo(zone)).date()


def legal_wall(zone: str = AUBE) -> dt.datetime:
    """Now on the wall clock of ``zone``, naive: what ``portal.identity.local_wall()`` answers, how a consultation's
    deadline (« le 12/03 à 12 h, heure de Paris ») is stored. ``datetime.now()`` is the test machine's clock: a
    deadline built with it is hours off on a host east or west of Paris."""
    return dt.datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
