"""The service's writes, shared by its pages, its API, its commands and its tasks (no ``flask.request`` here)."""
from __future__ import annotations

from portal import audit
from portal.extensions import db
from portal.settings import setting

from .models import Note


class NoteRefused(ValueError):
    """A write the rules refuse; the message is French, for the user."""


def create_note(title: str, commune_insee: str) -> Note:
    """Add a note to a commune (the caller commits); refused beyond ``TEMPLATE_MAX_NOTES``."""
    from flask_babel import gettext as _
    from sqlalchemy import func, select

    count = db.session.scalar(select(func.count()).select_from(Note))
    if count >= setting("TEMPLATE_MAX_NOTES"):
        raise NoteRefused(_("This commune already has %(n)s notes.", n=count))
    note = Note(title=title, commune_insee=commune_insee)
    db.session.add(note)
    db.session.flush()
    audit.record("template.note_created", target=note, title=title)
    return note
