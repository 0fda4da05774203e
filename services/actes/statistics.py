"""Statistics of the department as tiers de télétransmission, per collectivity and month and for the whole
department: acts (by month of their decision), sent, acknowledged, in error (now, and errors met on the way), the
delays decision → reception in préfecture and sending → reception (medians, in days), and the préfecture's letters
by kind (by month of their reception). Counts and dates only: no act's content.

Callers enter the department's territory first (``territory_scope``); :func:`statistics` reads a few grouped queries
and folds them in Python (a department year, 32 000 acts, is a few tens of milliseconds).
"""
from __future__ import annotations

import datetime as dt
import functools
import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from portal.extensions import db

from .models import Act, ActStatusChange, PrefectureReply

SENT = ("posted", "pending", "transmitted", "acknowledged", "error", "cancelled")


@dataclass
class Row:
    acts: int = 0
    sent: int = 0
    acknowledged: int = 0
    in_error: int = 0
    errors_met: int = 0
    decision_delays: list[int] = field(default_factory=list)
    transmission_delays: list[float] = field(default_factory=list)
    replies: dict[str, int] = field(default_factory=dict)  # kind → letters (REPLY_KINDS values; absent: none)

    def add(self, other: Row) -> None:
        self.acts += other.acts
        self.sent += other.sent
        self.acknowledged += other.acknowledged
        self.in_error += other.in_error
        self.errors_met += other.errors_met
        self.decision_delays += other.decision_delays
        self.transmission_delays += other.transmission_delays
        for k, v in other.replies.items():
            self.replies[k] = self.replies.get(k, 0) + v

    @property
    def decision_delay(self) -> float | None:
        """Median days from the decision to the reception in préfecture (AR)."""
        return round(pystats.median(self.decision_delays), 1) if self.decision_delays else None

    @property
    def transmission_delay(self) -> float | None:
        """Median days from the sending through the TdT to the reception in préfecture."""
        return round(pystats.median(self.transmission_delays), 1) if self.transmission_delays else None


@dataclass
class Stats:
    by_collectivity_month: dict[tuple[int, str], Row]

    def months(self) -> list[tuple[str, Row]]:
        out: dict[str, Row] = defaultdict(Row)
        for (_cid, month), row in self.by_collectivity_month.items():
            out[month].add(row)
        return sorted(out.items())

    def collectivities(self) -> dict[int, Row]:
        out: dict[int, Row] = defaultdict(Row)
        for (cid, _month), row in self.by_collectivity_month.items():
            out[cid].add(row)
        return dict(out)

    def total(self) -> Row:
        total = Row()
        for row in self.by_collectivity_month.values():
            total.add(row)
        return total


@functools.lru_cache(maxsize=4096)
def _month(day) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def statistics(collectivity_ids: list[int] | None = None, *, since: dt.date | None = None) -> Stats:
    """Statistics of the given collectivities (all of the territory in scope when None), decisions from ``since``."""
    rows: dict[tuple[int, str], Row] = defaultdict(Row)

    def scoped(stmt, column):
        if collectivity_ids is not None:
            stmt = stmt.where(column.in_(collectivity_ids))
        return stmt

    first_sent = (select(ActStatusChange.act_id, func.min(ActStatusChange.at).label("at"))
                  .where(ActStatusChange.status == "posted").group_by(ActStatusChange.act_id).subquery())
    stmt = scoped(select(Act.collectivity_id, Act.decision_date, Act.status, Act.received_on, first_sent.c.at)
                  .outerjoin(first_sent, first_sent.c.act_id == Act.id), Act.collectivity_id)
    if since is not None:
        stmt = stmt.where(Act.decision_date >= since)
    for cid, decided, status, received, sent_at in db.session.execute(stmt):
        row = rows[(cid, _month(decided))]
        row.acts += 1
        row.sent += status in SENT
        row.acknowledged += received is not None
        row.in_error += status == "error"
        if received is not None:
            row.decision_delays.append((received - decided).days)
            if sent_at is not None:
                row.transmission_delays.append(max(0.0, (dt.datetime.combine(received, dt.time(12)) - sent_at)
                                                   .total_seconds() / 86400))

    errors = scoped(select(Act.collectivity_id, Act.decision_date, func.count())
                    .join(ActStatusChange, ActStatusChange.act_id == Act.id)
                    .where(ActStatusChange.status == "error")
                    .group_by(Act.collectivity_id, Act.decision_date), Act.collectivity_id)
    if since is not None:
        errors = errors.where(Act.decision_date >= since)
    for cid, decided, n in db.session.execute(errors):
        rows[(cid, _month(decided))].errors_met += n

    replies = scoped(select(Act.collectivity_id, PrefectureReply.received_on, PrefectureReply.kind, func.count())
                     .join(PrefectureReply, PrefectureReply.act_id == Act.id)
                     .group_by(Act.collectivity_id, PrefectureReply.received_on, PrefectureReply.kind),
                     Act.collectivity_id)
    if since is not None:
        replies = replies.where(PrefectureReply.received_on >= since)
    for cid, received, kind, n in db.session.execute(replies):
        row = rows[(cid, _month(received))]
        row.replies[kind] = row.replies.get(kind, 0) + n
    return Stats(dict(rows))
