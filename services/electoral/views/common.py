"""The two blueprints of the electoral rolls and what their pages share: the active commune's bureaux, elections
and registered voters, the labels every template reads, the communes-only rule."""
from __future__ import annotations

import os

from flask import Blueprint
from sqlalchemy import select

from portal.extensions import db
from portal.lookups import active_commune

from .. import labels
from ..access import only_communes
from ..calendar import KINDS
from ..models import Election, PollingStation, Voter

# rooted at the service package: its templates, static files and translations live there
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bp = Blueprint("electoral", __name__, root_path=ROOT, template_folder="templates", static_folder="static")
api_bp = Blueprint("electoral_api", __name__, root_path=ROOT)

bp.before_request(only_communes)
api_bp.before_request(only_communes)


@bp.app_template_filter("frdate")
def frdate(value):
    return value.strftime("%d/%m/%Y") if value else ""


@bp.context_processor
def template_labels():
    return {"REGISTRATION_REASONS": labels.REGISTRATION_REASONS, "REMOVAL_REASONS": labels.REMOVAL_REASONS,
            "REINSTATEMENT_REASONS": labels.REINSTATEMENT_REASONS, "MOVEMENT_KINDS": labels.MOVEMENT_KINDS,
            "LIST_LABELS": labels.LIST_LABELS, "KINDS": KINDS}


def commune():
    """The active commune (403 for any other collectivity)."""
    return active_commune()


def bureaux() -> list[PollingStation]:
    return db.session.scalars(select(PollingStation).order_by(PollingStation.number)).all()


def elections() -> list[Election]:
    return db.session.scalars(select(Election).order_by(Election.first_round.desc())).all()


def registered() -> list[Voter]:
    return db.session.scalars(select(Voter).where(Voter.status == "registered")).all()


def justification_of(form) -> dict:
    """The supporting document of a movement form, as the roll's functions take it."""
    content = getattr(form.justification, "content", None)
    if not content:
        return {}
    return {"justification": content, "justification_name": form.justification.data.filename[-200:]}
