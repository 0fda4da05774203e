"""A small service that exists only in the tests: it proves the registry, the gate and the tenancy choke point.

It has its own declarative base (its table is not part of the portal's migrations), a territory-scoped model,
a list page, a detail page, a write endpoint, a permission only mayors hold, and a JSON endpoint.
"""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template_string, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import MetaData, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from portal.extensions import NAMING_CONVENTION, db
from portal.registry import NavEntry, ServiceDescriptor, requires
from portal.tenancy import TerritoryScoped


class SampleBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SampleNote(SampleBase, TerritoryScoped):
    __tablename__ = "sample_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(200), default="")


bp = Blueprint("sample", __name__)

PAGE = "{% extends 'base.html' %}{% block content %}<h1>Notes</h1><ul>{% for n in notes %}<li>{{ n.title }}</li>{% endfor %}</ul>{% endblock %}"


@bp.get("/")
def index():
    notes = db.session.scalars(select(SampleNote).order_by(SampleNote.id)).all()
    return render_template_string(PAGE, notes=notes)


@bp.get("/secrets")
@requires("sample.secret")
def index_secret():
    notes = db.session.scalars(select(SampleNote).order_by(SampleNote.id)).all()
    return render_template_string(PAGE, notes=[n for n in notes if n.secret])


@bp.get("/notes/<int:note_id>")
def note(note_id: int):
    n = db.session.get(SampleNote, note_id)
    if n is None:
        abort(404)
    return render_template_string("<p>{{ n.title }}</p>", n=n)


@bp.get("/notes/<int:note_id>/secret")
@requires("sample.secret")
def secret(note_id: int):
    n = db.session.scalars(select(SampleNote).where(SampleNote.id == note_id)).first()
    if n is None:
        abort(404)
    return n.secret


@bp.post("/notes")
@requires("sample.write")
def create():
    n = SampleNote(title=request.form["title"], commune_insee=request.form["commune_insee"])
    db.session.add(n)
    db.session.commit()
    return jsonify(id=n.id), 201


@bp.get("/api/notes")
def api_notes():
    return jsonify([{"id": n.id, "title": n.title, "commune": n.commune_insee}
                    for n in db.session.scalars(select(SampleNote))])


api = Blueprint("sample_api", __name__)


@api.get("/notes")
def api_list():
    return jsonify([{"id": n.id, "title": n.title} for n in db.session.scalars(select(SampleNote))])


@api.post("/notes")
@requires("sample.write")
def api_create():
    data = request.get_json(silent=True) or {}
    n = SampleNote(title=str(data.get("title", "")), commune_insee=str(data.get("commune_insee", "")))
    db.session.add(n)
    db.session.commit()
    return jsonify(id=n.id), 201


public = Blueprint("sample_public", __name__)


@public.get("/<insee>")
def public_count(insee: str):
    """A public page: counts only, never personal data. Anonymous requests see no territory until the view
    enters the one commune the page is about."""
    from sqlalchemy import func

    from portal.tenancy import territory_scope

    with territory_scope({insee}):
        count = db.session.scalar(select(func.count()).select_from(SampleNote))
    return jsonify(commune=insee, notes=count)


department = Blueprint("sample_department", __name__)


@department.get("/")
def department_stats():
    """A department page: counts per commune, in an explicit system context (no personal data)."""
    from sqlalchemy import func

    from portal.tenancy import territory_scope

    with territory_scope(None):
        rows = db.session.execute(select(SampleNote.commune_insee, func.count()).group_by(SampleNote.commune_insee)
                                  .order_by(SampleNote.commune_insee)).all()
    return jsonify(counts={insee: n for insee, n in rows})


@department.post("/purge")
@requires("collectivities.admin")
def department_purge():
    return jsonify(ok=True)


service = ServiceDescriptor(
    slug="sample",
    name=_l("Sample service"),
    description=_l("Exists only in the tests."),
    blueprint=bp,
    api_blueprint=api,
    public_blueprint=public,
    index_endpoint="sample.index",
    access_permission="sample.read",
    permissions={
        "sample.read": ("mayor", "secretary", "elected"),
        "sample.write": ("mayor", "secretary"),
        "sample.secret": ("mayor",),
    },
    permission_labels={"sample.secret": _l("Sample: read secrets")},
    grantable=("sample.secret",),
    nav=[NavEntry(_l("Notes"), "sample.index"), NavEntry(_l("Secrets"), "sample.index_secret", "sample.secret")],
    department_blueprint=department,
    department_nav=[NavEntry(_l("Sample statistics"), "sample_department.department_stats")],
)
