"""The panel of the commune's (or EPCI's) home page: what is waiting in the legality control, with its dates.

- acts waiting for the visa of the secretary, or for the signature of the mayor;
- letters of the préfecture not answered yet, with their answer date (two months after reception);
- listes des délibérations to publish within a week of the séance (L2121-25), late ones first;
- acts in error, with the reason.

The five lists are read in **one statement** (:func:`waiting`): a ``UNION ALL`` of five branches, each its own
``ORDER BY … LIMIT``, giving the few columns the panel shows (no ORM object is built). The branches are ORM selects of
scoped entities, so the territory criteria of ``portal/tenancy.py`` (and row-level security on PostgreSQL) apply to
each as to any query; the acts are narrowed to the active collectivity as :func:`portal.tenancy.owned_query` does.

The descriptor passes :func:`home_panel`; the portal's home page renders its HTML under the tiles.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from flask import render_template
from sqlalchemy import Date, DateTime, Integer, String, Text, bindparam, literal_column, null, select, union_all

from portal.extensions import db
from portal.identity import today as local_today

from .models import Act, PrefectureReply, Seance

LIMIT = 8


@dataclass(frozen=True)
class WaitingAct:
    id: int
    number: str
    subject: str
    visa_at: dt.datetime | None = None
    status_reason: str = ""


@dataclass(frozen=True)
class WaitingReply:
    answer_due_on: dt.date


@dataclass(frozen=True)
class WaitingList:
    id: int
    held_on: dt.date

    @property
    def list_due_on(self) -> dt.date:
        """Last day to publish the liste des délibérations: one week after the séance (L2121-25)."""
        return self.held_on + dt.timedelta(days=7)


KINDS = ("to_visa", "to_sign", "errors", "replies", "lists")  # fixed names, written into the SQL as literals


def _branch(kind: str, stmt, order):
    """One list of the panel: its columns in the union's shape, its own order and limit."""
    position = db.func.row_number().over(order_by=order)
    return stmt.add_columns(literal_column(f"'{kind}'", String).label("kind"), position.label("position")) \
        .order_by(*order).limit(LIMIT).subquery()


@functools.cache
def _statement():
    """The union, built once per process (its construction costs more than its execution): the collectivity
    (``cid``) and the day (``today``) are bound at each execution."""
    cid, today = bindparam("cid", type_=Integer), bindparam("today", type_=Date)

    def acts(*where):
        return select(Act.id.label("id"), Act.number.label("number"), Act.subject.label("subject"),
                      Act.visa_at.label("at"), Act.status_reason.label("reason"),
                      null().cast(Date).label("day")).where(Act.collectivity_id == cid, *where)

    draft = (Act.status == "draft", Act.signed_at.is_(None))
    branches = [
        _branch("to_visa", acts(*draft, Act.visa_at.is_(None)), (Act.decision_date, Act.id)),
        _branch("to_sign", acts(*draft, Act.visa_at.is_not(None)), (Act.visa_at, Act.id)),
        _branch("errors", acts(Act.status == "error"), (Act.updated_at.desc(), Act.id)),
        _branch("replies", select(Act.id.label("id"), Act.number.label("number"), Act.subject.label("subject"),
                                  Act.visa_at.label("at"), Act.status_reason.label("reason"),
                                  PrefectureReply.answer_due_on.label("day"))
                .join(PrefectureReply, PrefectureReply.act_id == Act.id)
                .where(Act.collectivity_id == cid, PrefectureReply.answered_at.is_(None), Act.status != "cancelled"),
                (PrefectureReply.answer_due_on, PrefectureReply.id)),
        _branch("lists", select(Seance.id.label("id"), null().cast(String).label("number"),
                                null().cast(Text).label("subject"), null().cast(DateTime).label("at"),
                                null().cast(Text).label("reason"), Seance.held_on.label("day"))
                .where(Seance.collectivity_id == cid, Seance.list_published_at.is_(None), Seance.held_on <= today,
                       Seance.items.any()),
                (Seance.held_on, Seance.id)),
    ]
    union = union_all(*(select(*b.c) for b in branches)).subquery()
    return select(union).order_by(union.c.kind, union.c.position)


def waiting(collectivity) -> dict[str, list]:
    """The panel's five lists for ``collectivity``, in one statement (an ORM execution: the territory criteria are
    added to it at each request, as to any other)."""
    found: dict[str, list] = {kind: [] for kind in KINDS}
    for row in db.session.execute(_statement(), {"cid": collectivity.id, "today": local_today(collectivity)}):
        if row.kind == "lists":
            found["lists"].append(WaitingList(row.id, row.day))
            continue
        act = WaitingAct(row.id, row.number, row.subject, row.at, row.reason or "")
        found[row.kind].append((WaitingReply(row.day), act) if row.kind == "replies" else act)
    return found


def home_panel(collectivity, permissions) -> str | None:
    if collectivity is None or "actes.read" not in permissions:
        return None
    found = waiting(collectivity)
    if not any(found.values()):
        return None
    return render_template("actes/_home_panel.html", **found, today=local_today(collectivity),
                           may_sign="actes.sign" in permissions, may_write="actes.write" in permissions)
