"""The legal calendar of an election, computed from its first round (Code électoral, as in force since the REU
reform of 2019, loi n° 2016-1048).

Each deadline names its article. Checked in the tests against the dates published for the municipal elections of
15 March 2026 (inscriptions until Friday 6 February 2026, commission de contrôle from 19 to 22 February, candidacies
until Thursday 26 February at 18:00, exceptional registrations until 5 March).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

KINDS = {
    "municipal": _l("Municipal elections"),
    "european": _l("European elections"),
    "presidential": _l("Presidential election"),
    "legislative": _l("Legislative elections"),
    "departmental": _l("Departmental elections"),
    "regional": _l("Regional elections"),
    "referendum": _l("Referendum"),
}
# The lists each kind of election uses (the complementary lists: L.O. 227-1 municipal, loi 77-729 art. 2-1 European).
KIND_LISTS = {"municipal": ["general", "municipal"], "european": ["general", "eu"]}


@dataclass
class Deadline:
    day: dt.date
    label: object
    article: str
    time: str = ""
    until: dt.date | None = None  # a window: from ``day`` to ``until``
    decree: bool = False  # ``article`` is the reference of the election's decree, not an article of the Code


def friday_before(day: dt.date, n: int) -> dt.date:
    """The n-th Friday strictly before ``day``."""
    back = (day.weekday() - 4) % 7 or 7
    return day - dt.timedelta(days=back + 7 * (n - 1))


def thursday_before(day: dt.date, n: int) -> dt.date:
    back = (day.weekday() - 3) % 7 or 7
    return day - dt.timedelta(days=back + 7 * (n - 1))


def legal_calendar(kind: str, first_round: dt.date, second_round: dt.date | None = None,
                   registration: tuple[dt.date, str] | None = None) -> list[Deadline]:
    """The deadlines of an election; ``registration`` (date, legal reference) replaces the L. 17 registration
    deadline when the election's decree fixes its own."""
    d = first_round
    reg_day, reg_article = registration if registration else (friday_before(d, 6), "L. 17 I")
    items = [
        Deadline(reg_day, _l("Last day to apply for registration on the electoral roll"), reg_article,
                 decree=registration is not None),
        Deadline(d - dt.timedelta(days=24), _l("Meeting window of the commission de contrôle"), "L. 19, R. 7",
                 until=d - dt.timedelta(days=21)),
        Deadline(d - dt.timedelta(days=20), _l("Last day to publish the roll after the commission de contrôle"),
                 "R. 13"),
        Deadline(d - dt.timedelta(days=10), _l("Last day for exceptional registrations (moved civil servants, "
                                               "newly of age, newly French…)"), "L. 30"),
        Deadline(d - dt.timedelta(days=3), _l("Last day to deliver the voter cards at home"), "R. 25"),
        Deadline(d, _l("First round: the émargement list is a copy of the roll certified by the mayor"), "L. 62-1"),
    ]
    if kind == "municipal":
        items.append(Deadline(thursday_before(d, 3), _l("Last day to file candidacies (municipal elections)"),
                              "L. 267", time="18:00"))
    if second_round:
        items.append(Deadline(second_round, _l("Second round"), "L. 56"))
    return sorted(items, key=lambda x: x.day)


def election_calendar(e) -> list[Deadline]:
    """The calendar of an :class:`~.models.Election`, with its own registration deadline when its decree sets one."""
    override = (e.registration_deadline, e.registration_deadline_reference) if e.registration_deadline else None
    return legal_calendar(e.kind, e.first_round, e.second_round, override)


def upcoming(elections, today: dt.date, limit: int = 5) -> list[tuple]:
    """(election, deadline) pairs not yet passed, soonest first."""
    out = []
    for e in elections:
        for item in election_calendar(e):
            if (item.until or item.day) >= today:
                out.append((e, item))
    return sorted(out, key=lambda x: x[1].day)[:limit]
