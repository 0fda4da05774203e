"""JSON API of the Actes service (/api/v1/actes/…, behind the gate, session or personal access token): list and
read acts, deposit one (multipart, the same fields as the page, the same named pre-flight messages; a délibération
may name its séance with ``seance_id`` and its vote), send it; list and read the séances with their votes."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db
from portal.registry import requires
from portal.responses import json_error

from . import SERVICE_ROOT
from portal.tenancy import owned_or_404

from .. import operations, seances, transmission
from ..access import act_or_404, owned_acts
from ..models import Act, Seance
from ..schemas import act_json, deposit_from

api_bp = Blueprint("actes_api", __name__, root_path=SERVICE_ROOT)


@api_bp.route("/acts")
def list_acts():
    acts = db.session.scalars(owned_acts().order_by(Act.decision_date.desc(), Act.id.desc()).limit(200))
    return jsonify([act_json(a) for a in acts])


@api_bp.route("/acts/<int:act_id>")
def get_act(act_id: int):
    return jsonify(act_json(act_or_404(act_id)))


@api_bp.route("/acts", methods=["POST"])
@requires("actes.write")
def create_act():
    d, extra = deposit_from(request.form, request.files.get("act"), request.files.getlist("annexes"))
    raw = str(request.form.get("seance_id") or "")
    seance = owned_or_404(Seance, int(raw)) if raw.isdigit() else None
    try:
        vote = seances.vote_from(request.form) if seance is not None else None
        if seance is not None:
            seances.check_vote(seance, vote)
            extra.session_date = seance.held_on
    except seances.SeanceRefused as exc:
        return _seance_refused(exc)
    act, report = operations.create_draft(g.collectivity, current_user, d, extra)
    if act is not None and seance is not None:
        try:
            seances.attach(seance, act, vote, current_user)
        except seances.SeanceRefused as exc:
            db.session.rollback()
            return _seance_refused(exc)
    if act is None:
        db.session.rollback()
        return json_error(422, _("The act cannot be sent as it is."), reason="pre-flight refused",
                          problems=[{"rule": p.rule, "message": p.message} for p in report.errors],
                          suggestion=report.suggestion)
    db.session.commit()
    body = act_json(act)
    body["warnings"] = [{"rule": p.rule, "message": p.message} for p in report.warnings]
    return jsonify(body), 201


@api_bp.route("/acts/<int:act_id>/send", methods=["POST"])
@requires("actes.send")
def send_act(act_id: int):
    act = act_or_404(act_id)
    try:
        transmission.submit(act, current_user)
    except transmission.ActionRefused as exc:
        db.session.rollback()
        return json_error(409, str(exc), reason="send refused")
    db.session.commit()
    return jsonify(act_json(act)), 202


def _seance_refused(exc: Exception):
    return json_error(422, _("The act cannot be sent as it is."), reason="séance or vote refused",
                      problems=[{"rule": "seance", "message": str(exc)}])


@api_bp.route("/seances")
def list_seances():
    rows = db.session.scalars(seances.seances_of(g.collectivity).limit(200))
    return jsonify([seances.seance_json(s) for s in rows])


@api_bp.route("/seances/<int:seance_id>")
def get_seance(seance_id: int):
    return jsonify(seances.seance_json(owned_or_404(Seance, seance_id)))
