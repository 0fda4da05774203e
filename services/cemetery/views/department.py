"""Pages of the department's team, at /admin/s/cemetery/: counts per commune, never names."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal.extensions import db
from portal.tenancy import territory_scope

from ..models import Concession, Plot

department = Blueprint("cemetery_department", __name__, template_folder="../templates")


@department.get("/")
def overview():
    with territory_scope(None):  # the department reads across communes, explicitly
        plots = dict(db.session.execute(select(Plot.commune_insee, func.count()).group_by(Plot.commune_insee)).all())
        concessions = dict(db.session.execute(select(Concession.commune_insee, func.count())
                                              .where(Concession.status == "active")
                                              .group_by(Concession.commune_insee)).all())
    rows = sorted((insee, n, concessions.get(insee, 0)) for insee, n in plots.items())
    return render_template("cemetery/department.html", rows=rows)
