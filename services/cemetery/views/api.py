"""The JSON API, at /api/v1/cemetery/ behind the gate (a personal access token or the session); documented by
``schemas.OPENAPI`` through the descriptor."""
from __future__ import annotations


from flask import Blueprint, current_app, jsonify, request

from portal.identity import today as local_today
from .. import queries

api = Blueprint("cemetery_api", __name__)


@api.get("/plan.geojson")
def plan():
    return current_app.response_class(queries.plan_json(request.args.get("cemetery_id", type=int)),
                                      mimetype="application/geo+json")


@api.get("/search")
def search():
    return jsonify([{"id": h.plot_id, "label": h.label, "cemetery": h.cemetery, "name": h.who, "as": h.role,
                     "years": h.dates}
                    for h in queries.search(request.args.get("q", ""), request.args.get("page", 1, type=int)).hits])


@api.get("/deadlines")
def deadlines():
    today = local_today()
    return jsonify({
        "concessions": [{"id": d.concession.id, "number": d.concession.number, "ends_on": d.ends_on.isoformat(),
                         "list": d.months, "plot": d.concession.plot.label} for d in queries.deadlines(today)],
        "reprise_steps": [{"reprise": s.reprise_id, "step": s.code, "due_on": s.due_on.isoformat()}
                          for s in queries.steps_due(today)]})
