"""The service's JSON API (``/api/v1/alerts/…``): the commune's alerts, the follow-up of one, the zone map's points,
the SMS segment counter. Requests are checked against the schemas the OpenAPI document publishes
(:mod:`schemas`); a request that does not follow them gets a 400 with a French message.

The first version of the API had French paths (``/alertes``, ``/alertes/<id>/suivi``, ``/carte``): they still
answer, marked deprecated in the OpenAPI document.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from portal.extensions import db
from portal.responses import json_error

from .. import access, queries, schemas
from .. import sms as smsmod
from ..models import Alert

api_bp = Blueprint("alerts_api", __name__)

def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def alert_json(alert: Alert) -> dict:
    return {"id": alert.id, "kind": alert.kind, "title": alert.title, "severity": alert.severity,
            "status": alert.status, "channels": list(alert.channels or []), "list_ids": list(alert.list_ids or []),
            "zone": (alert.zone or {}).get("type"), "sms_segments": alert.sms_segments,
            "msg_type": alert.msg_type or "alert", "references": alert.references_id,
            "created_at": _iso(alert.created_at), "scheduled_at": _iso(alert.scheduled_at),
            "sent_at": _iso(alert.sent_at)}


@api_bp.get("/alerts")
@api_bp.get("/alertes", endpoint="alerts_former_path")
def alerts():
    """The commune's alerts and individual messages, newest first (no recipient: counts are in /delivery)."""
    access.commune_insee()
    try:
        args = schemas.query_args(schemas.OPENAPI_PATHS["/alerts/alerts"]["get"]["parameters"], request.args)
    except schemas.BadRequest as exc:
        return json_error(400, str(exc), reason=exc.reason)
    rows = db.session.scalars(select(Alert).where(Alert.kind != "test")
                              .order_by(Alert.created_at.desc(), Alert.id.desc()).limit(args["limit"])).all()
    return jsonify(alerts=[alert_json(a) for a in rows])


@api_bp.get("/alerts/<int:alert_id>/delivery")
@api_bp.get("/alertes/<int:alert_id>/suivi", endpoint="delivery_former_path")
def delivery(alert_id: int):
    alert = access.alert_or_404(alert_id)
    return jsonify(id=alert.id, status=alert.status, **queries.alert_stats(alert.id))


@api_bp.get("/map")
@api_bp.get("/carte", endpoint="map_former_path")
def zone_map():
    insee = access.commune_insee()
    return jsonify(queries.map_points(insee, g.collectivity.boundary_geojson))


@api_bp.post("/segments")
def segments():
    try:
        body = schemas.json_body(schemas.SEGMENTS_REQUEST, request.get_json(silent=True))
    except schemas.BadRequest as exc:
        return json_error(400, str(exc), reason=exc.reason)
    return jsonify(smsmod.segments(body["text"]).as_dict())
