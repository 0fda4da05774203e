"""What a deposit of an act is made of, read the same way from the page's form and from the JSON API (multipart):
:func:`deposit_from` turns either into a :class:`services.actes.checks.Deposit` plus the extra fields of the act.
The form only converts values; every rule is the pre-flight's (``checks.py``), so the page and the API give the same
named French messages.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, FileField, MultipleFileField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import Optional

from .checks import Deposit, Upload
from .models import NATURES

NATURE_LABELS = {1: _l("Deliberation"), 2: _l("Regulatory act"), 3: _l("Individual act"),
                 4: _l("Contract, agreement"), 5: _l("Budget and finance"), 6: _l("Other")}
PUBLICATION_LABELS = {"regulatory": _l("Regulatory: published in full"),
                      "other": _l("Neither regulatory nor individual: published in full"),
                      "individual": _l("Individual: never published")}
# Type de pièce proposed for the act itself, by nature (the préfecture's typology; editable).
DEFAULT_PIECE_TYPES = {1: "99_DE", 2: "99_AR", 3: "99_AI", 4: "99_CO", 5: "99_BU", 6: "99_AU"}
DEFAULT_ANNEX_TYPE = "99_AU"


def default_publication(nature: int) -> str:
    return {2: "regulatory", 3: "individual"}.get(nature, "other")


class DepositForm(FlaskForm):
    nature = SelectField(_l("Nature"), coerce=int, choices=[(k, NATURE_LABELS[k]) for k in NATURES])
    matiere = StringField(_l("Matière (classification code)"), validators=[Optional()])
    number = StringField(_l("Numéro interne"), validators=[Optional()])
    decision_date = DateField(_l("Decision date"), validators=[Optional()])
    session_date = DateField(_l("Council session (séance)"), validators=[Optional()])
    subject = TextAreaField(_l("Objet"), validators=[Optional()])
    publication_kind = SelectField(_l("Publication"), choices=list(PUBLICATION_LABELS.items()), default="other")
    paper_annexes = BooleanField(_l("Some annexes are sent on paper"))
    act = FileField(_l("The act (PDF)"))
    act_piece_type = StringField(_l("Type de pièce of the act"), default="99_DE")
    annexes = MultipleFileField(_l("Annexes (PDF, JPEG, PNG; XML for a budget)"))
    annex_piece_types = StringField(_l("Types de pièce of the annexes, in order, separated by commas"),
                                    default=DEFAULT_ANNEX_TYPE)


@dataclass
class ActFields:
    session_date: dt.date | None
    publication_kind: str
    paper_annexes: bool


def _date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()) if value else None
    except ValueError:
        return None


def deposit_from(values, act_file, annex_files) -> tuple[Deposit, ActFields]:
    """From a mapping (form data or JSON-ish multipart fields) and uploaded files (werkzeug FileStorage)."""
    try:
        nature = int(values.get("nature") or 0)
    except (TypeError, ValueError):
        nature = 0
    types = [t.strip().upper() for t in str(values.get("annex_piece_types") or "").split(",")]
    annexes = []
    for i, f in enumerate(a for a in annex_files if a and a.filename):
        annexes.append(Upload(f.filename, f.read(), types[i] if i < len(types) and types[i] else
                              (types[-1] if types and types[-1] else "")))
    act = None
    if act_file is not None and act_file.filename:
        act = Upload(act_file.filename, act_file.read(), str(values.get("act_piece_type") or "").strip().upper())
    publication = str(values.get("publication_kind") or default_publication(nature))
    if publication not in PUBLICATION_LABELS:
        publication = default_publication(nature)
    paper = str(values.get("paper_annexes") or "").lower() in ("y", "yes", "on", "true", "1")
    d = Deposit(nature=nature, matiere=str(values.get("matiere") or "").strip(),
                number=str(values.get("number") or "").strip(), decision_date=_date(values.get("decision_date")),
                subject=str(values.get("subject") or "").strip(), act=act, annexes=annexes)
    return d, ActFields(_date(values.get("session_date")), publication, paper)


STATUS_LABELS = {"draft": _l("draft"), "queued": _l("being sent"), "posted": _l("posted"),
                 "pending": _l("waiting for transmission"), "transmitted": _l("transmitted"),
                 "acknowledged": _l("acknowledgement received"), "error": _l("error"), "cancelled": _l("cancelled")}
REPLY_LABELS = {"courrier_simple": _l("Simple letter"), "demande_pieces": _l("Request for additional documents"),
                "lettre_observations": _l("Letter of observations"), "defere": _l("Referral to the administrative court")}
ANSWER_LABELS = {"reponse": _l("Response"), "pieces": _l("Additional documents"), "refus": _l("Refusal")}


def act_json(act) -> dict:
    """An act as the JSON API gives it."""
    return {"id": act.id, "number": act.number, "nature": act.nature, "nature_code": act.nature_code,
            "matiere": act.matiere, "decision_date": act.decision_date.isoformat(), "subject": act.subject,
            "status": act.status, "status_reason": act.status_reason, "unique_id": act.unique_id,
            "received_on": act.received_on.isoformat() if act.received_on else None,
            "published_at": act.published_at.isoformat() if act.published_at else None,
            "history": [{"status": h.status, "at": h.at.isoformat(), "note": h.note} for h in act.history]}
