"""Pages of the mairie's staff, at /s/template/ behind the gate (signed in, commune subscribed, permission)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from portal.extensions import db
from portal.lookups import active_insee
from portal.registry import requires

from ..access import note_or_404
from ..models import Note
from ..operations import NoteRefused, create_note
from ..schemas import clean_note

bp = Blueprint("template", __name__, template_folder="../templates", static_folder="../static")


@bp.get("/")
def index():
    notes = db.session.scalars(select(Note).order_by(Note.id)).all()
    return render_template("template/index.html", notes=notes)


@bp.get("/notes/<int:note_id>")
def note(note_id: int):
    return render_template("template/note.html", note=note_or_404(note_id))


@bp.post("/notes")
@requires("template.write")
def create():
    values, errors = clean_note(request.form)
    if not errors:
        try:
            create_note(values["title"], active_insee())
        except NoteRefused as exc:
            errors = [str(exc)]
        else:
            db.session.commit()
    for error in errors:
        flash(error, "error")
    return redirect(url_for("template.index"))
