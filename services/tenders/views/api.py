"""JSON API of the tenders service, at /api/v1/tenders/ (same gate as the pages; a tender of another collectivity
answers 404 like a tender that does not exist)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, jsonify, request

from portal.identity import today as local_today
from portal.extensions import db

from .. import rules, schemas, wizard
from ..access import owned_tenders, tender_or_404
from ..models import Tender
from . import PACKAGE_ROOT

api_bp = Blueprint("tenders_api", __name__, root_path=PACKAGE_ROOT)


def _error(status: int, message: str):
    return jsonify(error={400: "Bad Request", 404: "Not Found"}.get(status, "Error"), status=status,
                   message=message), status


def tender_json(t: Tender, full: bool = False) -> dict:
    out = {"id": t.id, "reference": t.reference, "status": t.status, "title": t.title, "nature": t.nature or None,
           "cpv": t.cpv_code or None, "amount_ht": float(t.amount_ht) if t.amount_ht is not None else None,
           "procedure": t.procedure or None,
           "reception_deadline": t.reception_deadline.isoformat() if t.reception_deadline else None,
           "updated_at": t.updated_at.isoformat()}
    if full:
        out |= {"description": t.description, "place": t.place, "duration_months": t.duration_months,
                "renewals": t.renewals, "renewal_months": t.renewal_months, "publicity": t.publicity or None,
                "media": t.media, "criteria": [{"code": c["code"], "label": wizard.criterion_label(c),
                                                "weight": c["weight"]} for c in t.criteria or []],
                "lots": [{"number": lot.number, "title": lot.title,
                          "amount_ht": float(lot.amount_ht) if lot.amount_ht is not None else None}
                         for lot in t.lots],
                "problems": {str(k): v for k, v in wizard.problems(t).items()} if t.status == "draft" else {},
                "ended_on": t.ended_on.isoformat() if t.ended_on else None, "end_reason": t.end_reason or None,
                "corrections": [{"number": c.number, "published_at": c.published_at.isoformat(), "reason": c.reason,
                                 "changes": c.changes} for c in t.corrections]}
    return out


@api_bp.get("/")
def list_tenders():
    tenders = db.session.scalars(owned_tenders().order_by(Tender.id)).all()
    return jsonify(tenders=[tender_json(t) for t in tenders])


@api_bp.get("/<int:tender_id>")
def get_tender(tender_id: int):
    return jsonify(tender_json(tender_or_404(tender_id), full=True))


@api_bp.get("/procedure")
def procedure():
    """The rules engine: ?nature=works&amount=85000&date=2026-05-01 → the procedure and its reasons.

    The parameters are checked against the schema the OpenAPI document publishes (``schemas.PROCEDURE_PARAMETERS``).
    """
    args = request.args
    try:
        schemas.check_query(schemas.PROCEDURE_PARAMETERS, args)
    except schemas.QueryError as exc:
        return _error(400, str(exc))
    on = dt.date.fromisoformat(args["date"]) if args.get("date") else local_today()
    buyer = "epci" if getattr(g.get("collectivity"), "kind", "") == "epci" else "commune"
    try:
        d = rules.decide(args["nature"], args["amount"], on, buyer)
    except rules.RulesError as exc:
        return _error(400, str(exc))
    return jsonify(procedure=d.procedure, publicity=d.publicity, label=d.label, reasons=d.reasons,
                   min_days=d.min_days, date=on.isoformat(),
                   thresholds=[{"rule": k, "amount": float(v.amount), "article": v.article, "source": v.source,
                                "valid_from": v.valid_from.isoformat(),
                                "valid_to": v.valid_to.isoformat() if v.valid_to else None}
                               for k, v in d.thresholds.items()])
