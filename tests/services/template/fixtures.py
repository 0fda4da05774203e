"""Factories of the service skeleton's data, shared by its tests (and by browser tests, were there any)."""
from __future__ import annotations


def make_note(app, insee: str, title: str) -> int:
    """A note of commune ``insee``, written in an explicit system context (as an import would); returns its id."""
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services._template.models import Note

    with app.app_context(), territory_scope(None):
        note = Note(commune_insee=insee, title=title)
        db.session.add(note)
        db.session.commit()
        return note.id
