"""The panel of the commune's (or EPCI's) home page: what is waiting in the legality control, with its dates.

- acts waiting for the visa of the secretary, or for the signature of the mayor;
- letters of the préfecture not answered yet, with their answer date (two months after reception);
- listes des délibérations to publish within a week of the séance (L2121-25), late ones first;
- acts in error, with the reason.

The descriptor passes :func:`home_panel`; the portal's home page renders its HTML under the tiles. The panel reads
the columns it shows only (rows, not acts: an act is thirty columns and an ORM object the panel never needs).
"""
from __future__ import annotations

import functools
from typing import NamedTuple

from sqlalchemy import Date, DateTime, String, bindparam, func, literal, null, select, union_all

from portal.home import render_panel
from portal.identity import today as local_today
from portal.extensions import db
from portal.tenancy import kept

from . import seances
from .models import Act, PrefectureReply

LIMIT = 8
TO_VISA, TO_SIGN, ERRORS, REPLIES = range(4)  # the panel's lists read in one statement, in this order


class Reply(NamedTuple):
    """A letter of the préfecture not answered yet, as the panel shows it."""

    answer_due_on: object
    id: int
    number: str
    subject: str


def _first(part: int, rows, order):
    """The first :data:`LIMIT` rows of the select ``rows`` in the order ``order`` (their ``position``), as part
    ``part`` of the panel's union. A rank, not ``ORDER BY … LIMIT``: a union's parts cannot each have theirs on
    SQLite."""
    ranked = rows.add_columns(func.row_number().over(order_by=order).label("position")).subquery()
    return select(literal(part).label("part"), *ranked.c).where(ranked.c.position <= LIMIT)


@functools.cache
def _statement():
    """The panel's four lists for the collectivity ``collectivity_id`` in one statement — drafts waiting for the
    visa, for the signature, acts in error, letters of the préfecture not answered — as rows (``part``, act id,
    number, subject, visa date, status reason, answer due date, ``position``), each list in its order. Built once
    (see ``portal.tenancy.kept``); the territory's criterion applies to each part."""
    owned = Act.collectivity_id == bindparam("collectivity_id")
    acts = select(Act.id, Act.number, Act.subject, Act.visa_at, Act.status_reason,
                  null().cast(Date).label("due_on")).where(owned)
    drafts = acts.where(Act.status == "draft", Act.signed_at.is_(None))
    replies = (select(Act.id, Act.number, Act.subject, null().cast(DateTime).label("visa_at"),
                      null().cast(String).label("status_reason"), PrefectureReply.answer_due_on.label("due_on"))
               .select_from(PrefectureReply).join(Act, PrefectureReply.act_id == Act.id)
               .where(owned, PrefectureReply.answered_at.is_(None), Act.status != "cancelled"))
    return kept(select(*union_all(
        _first(TO_VISA, drafts.where(Act.visa_at.is_(None)), Act.decision_date),
        _first(TO_SIGN, drafts.where(Act.visa_at.is_not(None)), Act.visa_at),
        _first(ERRORS, acts.where(Act.status == "error"), Act.updated_at.desc()),
        _first(REPLIES, replies, PrefectureReply.answer_due_on),
    ).subquery().c).order_by("part", "position"))


def home_panel(collectivity, permissions) -> str | None:
    if collectivity is None or "actes.read" not in permissions:
        return None
    lists = ([], [], [], [])
    for row in db.session.execute(_statement(), {"collectivity_id": collectivity.id}):
        lists[row.part].append(Reply(row.due_on, row.id, row.number, row.subject) if row.part == REPLIES else row)
    to_visa, to_sign, errors, replies = lists
    seances_lists = seances.lists_to_publish(collectivity)[:LIMIT]
    if not (to_visa or to_sign or errors or replies or seances_lists):
        return None
    return render_panel("actes/_home_panel.html", to_visa=to_visa, to_sign=to_sign, errors=errors,
                        replies=replies, lists=seances_lists, today=local_today(collectivity),
                        may_sign="actes.sign" in permissions, may_write="actes.write" in permissions)
