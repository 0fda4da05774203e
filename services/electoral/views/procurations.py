"""Staff pages of the procurations: the list, recording one for a voter of the roll, cancelling it, importing the
REU's file of procurations."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.registry import requires

from .. import procurations as rules
from .. import roll
from ..access import election_or_404, procuration_or_404, voter_or_404
from ..csvio import FileError
from ..forms import ConfirmForm, ProcurationForm, ProcurationImportForm
from ..labels import PROCURATION_AUTHORITIES
from ..models import Procuration
from .common import bp, elections

log = logging.getLogger(__name__)


def _form() -> ProcurationForm:
    form = ProcurationForm()
    form.election.choices = [(0, _("A period (dates below)"))] + [(e.id, e.title) for e in elections()]
    form.authority.choices = [(k, str(v)) for k, v in PROCURATION_AUTHORITIES.items()]
    return form


def _page(form, status: int = 200):
    rows = db.session.scalars(select(Procuration).order_by(Procuration.valid_until.desc(), Procuration.id)).all()
    mandant = None
    voter_id = form.mandant.data or request.args.get("electeur", type=int)
    if voter_id:
        mandant = voter_or_404(voter_id)
        form.mandant.data = mandant.id
    return render_template("electoral/procurations.html", rows=rows, form=form, mandant=mandant,
                           today=local_today(), confirm=ConfirmForm(), import_form=ProcurationImportForm(),
                           authorities=PROCURATION_AUTHORITIES), status


@bp.get("/procurations")
def procurations():
    form = _form()
    form.established_on.data = local_today().strftime("%d/%m/%Y")
    return _page(form)


@bp.post("/procurations")
@requires("electoral.write")
def procuration_add():
    form = _form()
    if not form.validate_on_submit():
        flash(_("The form has errors: see the fields in red."), "error")
        return _page(form, 400)
    mandant = voter_or_404(form.mandant.data)
    election = election_or_404(form.election.data) if form.election.data else None
    proxy = {"birth_name": form.proxy_birth_name.data, "usage_name": form.proxy_usage_name.data or "",
             "first_names": form.proxy_first_names.data, "birth_date": roll.parse_date(form.proxy_birth_date.data),
             "commune": form.proxy_commune.data or "", "ine": form.proxy_ine.data or ""}
    day = roll.parse_date
    try:
        rules.record(mandant, proxy, election, day(form.valid_from.data or ""), day(form.valid_until.data or ""),
                     form.authority.data, day(form.established_on.data), form.reference.data or "")
    except rules.ProcurationError as exc:
        db.session.rollback()
        log.info("electoral: procuration for voter %s refused: %s", mandant.id, exc)
        flash(str(exc), "error")
        return _page(form, 400)
    db.session.commit()
    flash(_("The procuration of %(name)s is recorded.", name=mandant.display_name), "success")
    return redirect(url_for("electoral.voter", voter_id=mandant.id))


@bp.post("/procurations/<int:procuration_id>/resilier")
@requires("electoral.write")
def procuration_cancel(procuration_id: int):
    p = procuration_or_404(procuration_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        rules.cancel(p, local_today())
    except rules.ProcurationError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The procuration is cancelled."), "success")
    return redirect(url_for("electoral.procurations"))


@bp.post("/procurations/import")
@requires("electoral.write")
def procuration_import():
    """The REU's file of procurations: all lines recorded, or none (each refused line reported)."""
    form = ProcurationImportForm()
    if not form.validate_on_submit():
        flash(_("Choose the file to import."), "error")
        return redirect(url_for("electoral.procurations"))
    try:
        done, errors = rules.import_file(form.file.data.read(5 * 1024 * 1024))
    except FileError as exc:
        flash(str(exc), "error")
        return redirect(url_for("electoral.procurations"))
    if errors:
        db.session.rollback()
        for line, message in errors[:20]:
            flash(_("Line %(line)d: %(problem)s", line=line, problem=message), "error")
        flash(_("Nothing was imported: correct the file and import it again."), "error")
        return redirect(url_for("electoral.procurations"))
    audit.record("electoral.procurations_imported", target_type="Procuration", procurations=done)
    db.session.commit()
    flash(_("%(n)d procuration(s) imported.", n=done), "success")
    return redirect(url_for("electoral.procurations"))
