"""Staff pages of the elections (scrutins) with their legal calendar, and of the commission de contrôle."""
from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.registry import requires
from portal.responses import pdf_response

from .. import operations, pdf, roll
from ..access import election_or_404
from ..calendar import election_calendar
from ..forms import CommissionForm, DeadlineForm, ElectionForm
from ..models import Movement
from .common import bp, bureaux, commune, elections


def _movements_between(start: dt.date, end: dt.date):
    return db.session.scalars(select(Movement).where(Movement.effective_on >= start, Movement.effective_on <= end)
                              .order_by(Movement.kind, Movement.effective_on, Movement.id)).all()


@bp.get("/commission")
def commission():
    """The movements between two dates, on the page or as the PDF the commission de contrôle signs."""
    form = CommissionForm(request.args)
    movements, counts = [], {}
    if request.args and form.validate():
        start, end = roll.parse_date(form.du.data), roll.parse_date(form.au.data)
        movements = _movements_between(start, end)
        for m in movements:
            counts[m.kind] = counts.get(m.kind, 0) + 1
        if request.args.get("format") == "pdf":
            header = " — ".join((commune().name, _("Commission de contrôle"), f"{form.du.data} – {form.au.data}"))
            data = pdf.render_pdf("electoral/pdf/commission.html", header, movements=movements, counts=counts,
                                  commune=commune(), start=start, end=end)
            audit.record("electoral.commission_printed", target_type="Movement", movements=len(movements),
                         start=start.isoformat(), end=end.isoformat())
            db.session.commit()
            return pdf_response(data, f"commission-controle-{start.isoformat()}-{end.isoformat()}.pdf")
        audit.record("electoral.commission_viewed", target_type="Movement", movements=len(movements))
        db.session.commit()
    elif not request.args:
        today = local_today()
        form.du.data = (today - dt.timedelta(days=30)).strftime("%d/%m/%Y")
        form.au.data = today.strftime("%d/%m/%Y")
    return render_template("electoral/commission.html", form=form, movements=movements, counts=counts,
                           searched=bool(request.args) and not form.errors)


@bp.get("/scrutins", endpoint="elections")
def elections_page():
    return render_template("electoral/elections.html", elections=elections(), form=ElectionForm())


@bp.post("/scrutins")
@requires("electoral.write")
def election_add():
    form = ElectionForm()
    if form.validate_on_submit():
        first = roll.parse_date(form.first_round.data)
        second = roll.parse_date(form.second_round.data) if form.second_round.data else None
        try:
            e = operations.create_election(commune().insee, form.kind.data, first, second, form.title.data or "",
                                           _registration(form))
        except operations.Refused as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("electoral.election", election_id=e.id))
    return render_template("electoral/elections.html", elections=elections(), form=form)


def _registration(form) -> tuple[dt.date, str] | None:
    if not form.registration_deadline.data:
        return None
    return roll.parse_date(form.registration_deadline.data), form.registration_deadline_reference.data or ""


def _election_page(e, form, status: int = 200):
    return render_template("electoral/election.html", e=e, calendar=election_calendar(e), bureaux=bureaux(),
                           today=local_today(), form=form), status


@bp.get("/scrutins/<int:election_id>")
def election(election_id: int):
    e = election_or_404(election_id)
    form = DeadlineForm(formdata=None, data={
        "registration_deadline": e.registration_deadline.strftime("%d/%m/%Y") if e.registration_deadline else "",
        "registration_deadline_reference": e.registration_deadline_reference})
    return _election_page(e, form)


@bp.post("/scrutins/<int:election_id>/date-inscriptions")
@requires("electoral.write")
def election_deadline(election_id: int):
    """Set (or clear) the registration deadline the election's decree fixes."""
    e = election_or_404(election_id)
    form = DeadlineForm()
    if form.validate_on_submit():
        try:
            operations.set_registration_deadline(e, _registration(form))
        except operations.Refused as exc:
            form.registration_deadline.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The calendar is updated."), "success")
            return redirect(url_for("electoral.election", election_id=e.id))
    return _election_page(e, form, 400)
