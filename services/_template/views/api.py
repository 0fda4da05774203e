"""The JSON API, at /api/v1/template/ behind the gate (a personal access token or the session); documented by
``schemas.OPENAPI`` through the descriptor."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from portal.extensions import db
from portal.lookups import active_insee
from portal.registry import requires
from portal.responses import json_error

from ..access import note_or_404
from ..models import Note
from ..operations import NoteRefused, create_note
from ..schemas import clean_note

api = Blueprint("template_api", __name__)


def _json(note: Note) -> dict:
    return {"id": note.id, "title": note.title}


@api.get("/notes")
def notes():
    return jsonify([_json(n) for n in db.session.scalars(select(Note).order_by(Note.id))])


@api.get("/notes/<int:note_id>")
def note(note_id: int):
    return jsonify(_json(note_or_404(note_id)))


@api.post("/notes")
@requires("template.write")
def create():
    values, errors = clean_note(request.get_json(silent=True) or {})
    if errors:
        return json_error(400, errors[0], reason="invalid note")
    try:
        note = create_note(values["title"], active_insee())
    except NoteRefused as exc:
        return json_error(409, str(exc), reason="note limit reached")
    db.session.commit()
    return jsonify(_json(note)), 201
