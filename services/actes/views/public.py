"""The commune's public page of acts (/p/actes/<insee>/): acts published in full with their date of online
publication, each as its stamped PDF, and the délibérations as SCDL open data. No account: each view enters the one
commune of its URL with ``portal.lookups.public_commune``; individual acts never appear (``access.published_acts_of``)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from portal.extensions import db
from portal.lookups import public_commune
from portal.responses import csv_response, pdf_response

from . import SERVICE_ROOT
from .. import operations
from ..access import published_acts_of, published_or_404
from ..publication import scdl_csv
from ..schemas import NATURE_LABELS
from ..storage import StorageError

public_bp = Blueprint("actes_public", __name__, template_folder="templates", root_path=SERVICE_ROOT)

PUBLIC_PAGE_SIZE = 200


@public_bp.route("/<insee>/")
def index(insee: str):
    with public_commune(insee, "actes") as coll:
        acts = db.session.scalars(published_acts_of(coll).limit(PUBLIC_PAGE_SIZE)).all()
        return render_template("actes/public_index.html", commune=coll, acts=acts, nature_labels=NATURE_LABELS)


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
