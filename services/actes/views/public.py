"""The commune's public page of acts (/p/actes/<insee>/): acts published in full with their date of online
publication, each as its stamped PDF, 50 a page, searchable by objet or number and by decision date; and the
délibérations as SCDL open data. No account: each view enters the one commune of its URL with
``portal.lookups.public_commune``; individual acts never appear (``access.published_acts_of``)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import or_

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


@public_bp.route("/<insee>/")
def index(insee: str):
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    errors: list[str] = []
    since, until = _date_arg("du", errors), _date_arg("au", errors)
    if since and until and since > until:
        errors.append(_("The first date is after the second one."))
    with public_commune(insee, "actes") as coll:
        stmt = published_acts_of(coll)
        if q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(Act.subject.ilike(like, escape="\\"), Act.number.ilike(like, escape="\\")))
        if since and not errors:
            stmt = stmt.where(Act.decision_date >= since)
        if until and not errors:
            stmt = stmt.where(Act.decision_date <= until)
        page = db.paginate(stmt.order_by(None).order_by(Act.published_at.desc(), Act.id.desc()),
                           per_page=PUBLIC_PAGE_SIZE, error_out=False)
        return render_template("actes/public_index.html", commune=coll, page=page, acts=page.items, q=q,
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
