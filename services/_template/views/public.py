"""Pages for residents, at /p/template/<insee>/ with no sign-in: a count, never personal data."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Collectivity
from portal.tenancy import territory_scope

from ..models import Note

public = Blueprint("template_public", __name__, template_folder="../templates")


@public.get("/<insee>/")
def commune(insee: str):
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee, Collectivity.kind == "commune"))
    if coll is None:
        abort(404)
    with territory_scope({insee}):  # an anonymous request sees no territory until it enters this one
        count = db.session.scalar(select(func.count()).select_from(Note))
    return render_template("template/public.html", commune=coll, count=count)
