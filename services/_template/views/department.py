"""Pages of the department's team, at /admin/s/template/: counts per commune, never the notes themselves."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal.extensions import db
from portal.tenancy import territory_scope

from ..models import Note

department = Blueprint("template_department", __name__, template_folder="../templates")


@department.get("/")
def overview():
    with territory_scope(None):  # the department reads across communes, explicitly
        counts = db.session.execute(select(Note.commune_insee, func.count()).group_by(Note.commune_insee)
                                    .order_by(Note.commune_insee)).all()
    return render_template("template/department.html", counts=counts)
