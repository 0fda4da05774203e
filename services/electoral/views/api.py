"""The JSON API of the electoral rolls (/api/v1/electoral/): search, one voter, registration, bureaux, calendar.
Requests are validated and documented (the descriptor's ``openapi``) from :mod:`..schemas`."""
from __future__ import annotations


from flask import jsonify, request

from portal import audit
from portal.extensions import db
from portal.registry import requires

from .. import roll, schemas
from ..access import election_or_404, voter_or_404
from ..calendar import election_calendar
from .common import api_bp, bureaux, commune


@api_bp.get("/voters")
def api_voters():
    q = request.args.get("q", "")
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    offset = max(request.args.get("offset", 0, type=int), 0)
    rows, total = roll.search(q, request.args.get("bureau", type=int), request.args.get("status", "registered"),
                              limit=limit, offset=offset)
    audit.record("electoral.voters_searched", target_type="Voter", results=total, via="api")
    db.session.commit()
    return jsonify(total=total, items=[schemas.voter_json(v) for v in rows])


@api_bp.post("/voters")
@requires("electoral.write")
def api_register():
    """Register a voter from JSON. Duplicates are checked first: 409 with the ids of the same identity in the commune
    and a yes/no for the rest of the department, unless ``confirm_duplicate`` is true."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="Bad Request", status=400, message="Send a JSON object."), 400
    ok, errors = schemas.validate_registration(data)
    if errors:
        return jsonify(error="Bad Request", status=400, fields=errors), 400
    values = ok["values"]
    duplicates = roll.same_identity_here(values["birth_name"], values["first_names"], values["birth_date"])
    elsewhere = roll.registered_elsewhere_in_department(values["birth_name"], values["first_names"],
                                                        values["birth_date"], commune().insee)
    if (duplicates or elsewhere) and data.get("confirm_duplicate") is not True:
        db.session.commit()  # keeps the audit event of the lookup
        return jsonify(error="Conflict", status=409, duplicates=[d.id for d in duplicates],
                       registered_elsewhere_in_department=elsewhere,
                       message="Possible duplicate: send confirm_duplicate=true if it is another person."), 409
    try:
        v = roll.register(commune().insee, values, ok["reason"], ok["effective"],
                          note=str(data.get("note") or "")[:2000], bureau=ok["bureau"],
                          forced_bureau_reason=str(data.get("bureau_reason") or "")[:200])
    except roll.RollError as exc:
        db.session.rollback()
        return jsonify(error="Unprocessable", status=422, message=str(exc)), 422
    db.session.commit()
    return jsonify(schemas.voter_json(v, full=True)), 201


@api_bp.get("/voters/<int:voter_id>")
def api_voter(voter_id: int):
    v = voter_or_404(voter_id)
    audit.record("electoral.voter_viewed", target=v, via="api")
    db.session.commit()
    return jsonify(schemas.voter_json(v, full=True))


@api_bp.get("/bureaux")
def api_bureaux():
    return jsonify(items=[{"id": b.id, "number": b.number, "name": b.name, "address": b.address,
                           "latitude": b.latitude, "longitude": b.longitude} for b in bureaux()])


@api_bp.get("/elections/<int:election_id>/calendar")
def api_calendar(election_id: int):
    e = election_or_404(election_id)
    return jsonify(election={"id": e.id, "kind": e.kind, "title": e.title, "first_round": e.first_round.isoformat(),
                             "second_round": e.second_round.isoformat() if e.second_round else None},
                   deadlines=[{"date": d.day.isoformat(), "until": d.until.isoformat() if d.until else None,
                               "time": d.time or None, "label": str(d.label), "article": d.article}
                              for d in election_calendar(e)])


@api_bp.errorhandler(404)
def api_not_found(exc):
    return jsonify(error="Not Found", status=404), 404

