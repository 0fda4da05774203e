"""The commune's public page of acts (/p/actes/<insee>/): acts published in full with their date of online
publication, each as its stamped PDF, 50 a page, searchable by objet or number and by decision date; and the
délibérations as SCDL open data. No account: each view enters the one commune of its URL with
``portal.lookups.public_commune``; individual acts never appear (``access.published_acts_of``)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.lookups import public_commune
from portal.responses import csv_response, pdf_response

from . import SERVICE_ROOT
from .. import operations
from ..access import published_acts_of, published_or_404
from ..models import Act
from ..publication import scdl_csv
from ..schemas import NATURE_LABELS
from ..storage import StorageError

public_bp = Blueprint("actes_public", __name__, template_folder="templates", root_path=SERVICE_ROOT)

PUBLIC_PAGE_SIZE = 50
MAX_QUERY = 100


@dataclass(frozen=True)
class PublicPage:
    """What the portal's ``pager`` macro reads of a page (the attributes of Flask-SQLAlchemy's Pagination)."""
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int:
        return self.page + 1


def _date_arg(name: str, errors: list[str]) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):  # a date field sends the first; typed by hand, the second
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    errors.append(_("« %(value)s » is not a date: write it as DD/MM/YYYY.", value=value[:20]))
    return None


def public_statements(coll, q: str = "", since: dt.date | None = None, until: dt.date | None = None):
    """The public page's statements (also what ``bench/actes.py`` and its EXPLAIN look at): its count, and a
    function of the page number giving that page's acts.

    Both walk the partial covering index ix_actes_act_public (migration actes_0014_list_index; services/actes/
    README.md, "Performance"): the count is an index-only scan of the commune's published acts, row-level security's
    filter and the search evaluated on index entries; the page is one statement, its 50 ids walked in the page's
    order from the same index (OFFSET skipping index entries, not acts read from the table) in a subquery, then
    those 50 acts read by primary key."""
    stmt = published_acts_of(coll)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Act.subject.ilike(like, escape="\\"), Act.number.ilike(like, escape="\\")))
    if since:
        stmt = stmt.where(Act.decision_date >= since)
    if until:
        stmt = stmt.where(Act.decision_date <= until)
    count = stmt.with_only_columns(func.count(Act.id)).order_by(None)
    order = (Act.published_at.desc(), Act.id.desc())

    def page_of(number: int):
        ids = (stmt.with_only_columns(Act.id).order_by(None).order_by(*order)
               .limit(PUBLIC_PAGE_SIZE).offset((number - 1) * PUBLIC_PAGE_SIZE))
        # the ids come from the published acts only: the outer query reads them by primary key, without repeating
        # the filter (repeated, it leads the planner to read all the commune's published rows and hash-join them)
        return select(Act).where(Act.id.in_(ids)).order_by(*order)

    return count, page_of


@public_bp.route("/<insee>/")
def index(insee: str):
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    errors: list[str] = []
    since, until = _date_arg("du", errors), _date_arg("au", errors)
    if since and until and since > until:
        errors.append(_("The first date is after the second one."))
    with public_commune(insee, "actes") as coll:
        count, page_of = public_statements(coll, q, None if errors else since, None if errors else until)
        total = db.session.scalar(count) or 0
        number = request.args.get("page", 1, type=int)
        number = number if number and number > 0 else 1
        page = PublicPage(number, PUBLIC_PAGE_SIZE, total)
        acts = db.session.scalars(page_of(number)).all() if total and number <= page.pages else []
        return render_template("actes/public_index.html", commune=coll, page=page, acts=acts, q=q,
                               since=request.args.get("du", ""), until=request.args.get("au", ""), errors=errors,
                               nature_labels=NATURE_LABELS, searching=bool(q or since or until))


@public_bp.route("/<insee>/<int:act_id>.pdf")
def document(insee: str, act_id: int):
    with public_commune(insee, "actes") as coll:
        act = published_or_404(coll, act_id)
        f = act.file("stamped") or act.file("act")
        try:
            data = operations.read_file(f)
        except StorageError:
            abort(404)
        return pdf_response(data, f"{act.unique_id or act.number}.pdf")


@public_bp.route("/<insee>/deliberations.csv")
def deliberations(insee: str):
    with public_commune(insee, "actes") as coll:
        return csv_response((), f"deliberations-{insee}.csv", text=scdl_csv(coll, published_only=True))
