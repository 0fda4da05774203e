"""The department's page of the service (/admin/s/actes/): as tiers de télétransmission, it sees each subscribed
collectivity's TdT account (who holds the certificate, its expiry, who pays) and statistics of the acts (per month,
per status, replies by kind). Counts only: no act's content is shown here."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Collectivity
from portal.tenancy import territory_scope

from . import SERVICE_ROOT
from ..models import Act, PrefectureReply, TdtAccount
from ..schemas import REPLY_LABELS, STATUS_LABELS

department_bp = Blueprint("actes_department", __name__, template_folder="templates",
                       root_path=SERVICE_ROOT)

REMINDER_DAYS = (60, 30, 7)


@department_bp.route("/")
def overview():
    today = dt.date.today()
    with territory_scope(None):  # the department's own page: counts over every collectivity, explicitly
        by_status = dict(db.session.execute(select(Act.status, func.count()).group_by(Act.status)).all())
        by_coll = dict(db.session.execute(select(Act.collectivity_id, func.count()).group_by(Act.collectivity_id))
                       .all())
        errors = dict(db.session.execute(select(Act.collectivity_id, func.count()).where(Act.status == "error")
                                         .group_by(Act.collectivity_id)).all())
        replies = dict(db.session.execute(select(PrefectureReply.kind, func.count())
                                          .group_by(PrefectureReply.kind)).all())
        months = db.session.execute(select(func.substr(func.cast(Act.decision_date, db.String), 1, 7).label("m"),
                                           func.count()).group_by("m").order_by("m")).all()
        accounts = db.session.execute(select(TdtAccount, Collectivity).join(Collectivity)
                                      .order_by(Collectivity.name)).all()
    rows = []
    for acc, coll in accounts:
        days = (acc.certificate_expires_on - today).days if acc.certificate_expires_on else None
        rows.append({"coll": coll, "acc": acc, "days": days, "acts": by_coll.get(coll.id, 0),
                     "errors": errors.get(coll.id, 0),
                     "reminder": days is not None and days <= max(REMINDER_DAYS)})
    return render_template("actes/department.html", rows=rows, by_status=by_status, replies=replies,
                           months=months[-12:], status_labels=STATUS_LABELS, reply_labels=REPLY_LABELS)
