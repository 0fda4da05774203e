"""The commune's public page of acts (/p/actes/<insee>/): acts published in full with their date of online
publication, each as its stamped PDF, and the délibérations as SCDL open data. No account: each view enters the one
commune of its URL with ``territory_scope``; individual acts never appear (``access.published_acts_of``)."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from portal.extensions import db
from portal.models import Collectivity
from portal.registry import is_subscribed
from portal.responses import csv_response, pdf_response
from portal.tenancy import territory_scope

from . import SERVICE_ROOT
from .. import operations
from ..access import published_acts_of, published_or_404
from ..publication import scdl_csv
from ..schemas import NATURE_LABELS
from ..storage import StorageError

public_bp = Blueprint("actes_public", __name__, template_folder="templates", root_path=SERVICE_ROOT)

PUBLIC_PAGE_SIZE = 200


@contextmanager
def commune_scope(insee: str):
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee,
                                                        Collectivity.kind == "commune"))
    if coll is None or not is_subscribed(coll, "actes"):
        abort(404)
    with territory_scope({insee}):
        if db.engine.dialect.name == "postgresql":  # the transaction began before the scope: tell RLS too
            db.session.connection().exec_driver_sql("SELECT set_config('app.territory', %s, true)", (insee,))
        yield coll


@public_bp.route("/<insee>/")
def index(insee: str):
    with commune_scope(insee) as coll:
        acts = db.session.scalars(published_acts_of(coll).limit(PUBLIC_PAGE_SIZE)).all()
        return render_template("actes/public_index.html", commune=coll, acts=acts, nature_labels=NATURE_LABELS)


@public_bp.route("/<insee>/<int:act_id>.pdf")
def document(insee: str, act_id: int):
    with commune_scope(insee) as coll:
        act = published_or_404(coll, act_id)
        f = act.file("stamped") or act.file("act")
        try:
            data = operations.read_file(f)
        except StorageError:
            abort(404)
        return pdf_response(data, f"{act.unique_id or act.number}.pdf")


@public_bp.route("/<insee>/deliberations.csv")
def deliberations(insee: str):
    with commune_scope(insee) as coll:
        return csv_response((), f"deliberations-{insee}.csv", text=scdl_csv(coll, published_only=True))
