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


def _names(value) -> list[str]:
    """A list of names from JSON (a list) or a form (one a line)."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()][:seances.MAX_NAMES]
    return seances.names(str(value or ""))


def _proxies(value) -> list[list[str]]:
    if isinstance(value, list):
        out = []
        for v in value[:seances.MAX_NAMES]:
            if isinstance(v, dict):
                out.append([str(v.get("member") or "").strip(), str(v.get("proxy_holder") or "").strip()])
            elif isinstance(v, (list, tuple)) and len(v) == 2:
                out.append([str(v[0]).strip(), str(v[1]).strip()])
            else:
                raise seances.SeanceRefused(_("Each proxy is given as an object with the keys « member » and « proxy_holder »."))
        return out
    return seances.proxies(str(value or ""))


def _seance_fields(data) -> seances.SeanceFields:
    import datetime as dt

    try:
        held_on = dt.date.fromisoformat(str(data.get("held_on") or ""))
    except ValueError:
        held_on = None
    raw = str(data.get("members_in_office") if data.get("members_in_office") is not None else "").strip()
    return seances.SeanceFields(held_on=held_on, held_at=str(data.get("held_at") or "").strip(),
                                place=str(data.get("place") or ""),
                                members_in_office=int(raw) if raw.isdigit() else None,
                                present=_names(data.get("present")), represented=_proxies(data.get("represented")),
                                absent=_names(data.get("absent")), secretary=str(data.get("secretary") or ""))


def _payload():
    return request.get_json(silent=True) if request.is_json else request.form


@api_bp.route("/seances", methods=["POST"])
@requires("actes.write")
def create_seance():
    """A séance of the council (JSON or form: ``held_on`` AAAA-MM-JJ, ``held_at``, ``place``,
    ``members_in_office``, ``present``, ``represented``, ``absent``, ``secretary``; optional ``agenda`` and
    ``convened_on`` record its convocation)."""
    data = _payload()
    if data is None or not hasattr(data, "get"):
        return json_error(400, _("The request must be a JSON object."), reason="bad payload")
    try:
        seance = seances.save_seance(g.collectivity, current_user, _seance_fields(data))
        if data.get("agenda"):
            import datetime as dt

            try:
                sent_on = dt.date.fromisoformat(str(data.get("convened_on") or ""))
            except ValueError as exc:
                raise seances.SeanceRefused(_("Give the date the convocation is sent (AAAA-MM-JJ).")) from exc
            seances.convene(seance, current_user, _names(data.get("agenda")), sent_on)
    except seances.SeanceRefused as exc:
        db.session.rollback()
        return json_error(422, str(exc), reason="séance refused")
    db.session.commit()
    return jsonify(seances.seance_json(seance)), 201


@api_bp.route("/seances/<int:seance_id>/deliberations", methods=["POST"])
@requires("actes.write")
def attach_deliberation(seance_id: int):
    """Put a délibération already deposited in the séance with its vote (``act_id``, ``votes_for``,
    ``votes_against``, ``abstentions``, ``result``)."""
    seance = owned_or_404(Seance, seance_id)
    data = _payload() or {}
    raw = str(data.get("act_id") or "")
    if not raw.isdigit():
        return json_error(422, _("Choose the délibération."), reason="act_id missing")
    act = act_or_404(int(raw))
    try:
        seances.attach(seance, act, seances.vote_from(data), current_user)
    except seances.SeanceRefused as exc:
        db.session.rollback()
        return json_error(422, str(exc), reason="vote refused")
    db.session.commit()
    return jsonify(seances.seance_json(seance)), 201
