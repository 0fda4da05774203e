"""Staff pages of the polling stations and of the street table (découpage), and the map of the bureaux."""
from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.extensions import db
from portal.registry import requires

from .. import operations
from ..access import bureau_or_404, street_or_404
from ..forms import BureauForm, ConfirmForm, StreetForm
from ..map import map_response
from ..models import PollingStation, StreetBureau, Voter
from .common import bp, bureaux, commune, elections, registered

log = logging.getLogger(__name__)


def _bureau_values(form) -> dict:
    return {"number": form.number.data.strip(), "name": form.name.data.strip(),
            "address": (form.address.data or "").strip(),
            "latitude": float(form.latitude.data) if form.latitude.data is not None else None,
            "longitude": float(form.longitude.data) if form.longitude.data is not None else None}


def _bureaux_page(form, street_form):
    streets = db.session.scalars(select(StreetBureau).order_by(StreetBureau.street_key)).all()
    counts = {}
    for v in registered():
        counts[v.bureau_id] = counts.get(v.bureau_id, 0) + 1
    return render_template("electoral/bureaux.html", bureaux=bureaux(), streets=streets, form=form,
                           street_form=street_form, counts=counts, elections=elections(), confirm=ConfirmForm())


def _forms():
    form, street_form = BureauForm(prefix="b"), StreetForm(prefix="s")
    street_form.bureau.choices = [(b.id, b.label) for b in bureaux()]
    return form, street_form


@bp.get("/bureaux", endpoint="bureaux")
def bureaux_page():
    return _bureaux_page(*_forms())


@bp.post("/bureaux")
@requires("electoral.write")
def bureaux_add():
    """The page's two forms: a new polling station (``b-``) or a street sent to a bureau (``s-``)."""
    form, street_form = _forms()
    if "b-number" in request.form and form.validate_on_submit():
        try:
            b = operations.create_bureau(commune().insee, _bureau_values(form))
        except operations.Refused as exc:
            form.number.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Polling station %(n)s created.", n=b.number), "success")
            return redirect(url_for("electoral.bureaux"))
    elif "s-street" in request.form and street_form.validate_on_submit():
        b = db.session.get(PollingStation, street_form.bureau.data)
        if b is None:
            street_form.bureau.errors.append(_("This polling station does not exist."))
        else:
            operations.assign_street(commune().insee, street_form.street.data, b)
            db.session.commit()
            flash(_("Street assigned to polling station %(n)s.", n=b.number), "success")
            return redirect(url_for("electoral.bureaux"))
    return _bureaux_page(form, street_form)


@bp.get("/bureaux/<int:bureau_id>")
def bureau(bureau_id: int):
    b = bureau_or_404(bureau_id)
    form = BureauForm(prefix="b", formdata=None, obj=b)
    return _bureau_page(b, form)


def _bureau_page(b: PollingStation, form, status: int = 200):
    streets = db.session.scalars(select(StreetBureau).where(StreetBureau.bureau_id == b.id)
                                 .order_by(StreetBureau.street_key)).all()
    voters = db.session.scalar(select(func.count(Voter.id)).where(Voter.bureau_id == b.id,
                                                                  Voter.status == "registered"))
    street_form = StreetForm(prefix="s", formdata=None)
    street_form.bureau.choices = [(x.id, x.label) for x in bureaux()]
    return render_template("electoral/bureau.html", b=b, form=form, streets=streets, voters=voters,
                           street_form=street_form, confirm=ConfirmForm(), elections=elections()), status


@bp.post("/bureaux/<int:bureau_id>/modifier")
@requires("electoral.write")
def bureau_edit(bureau_id: int):
    b = bureau_or_404(bureau_id)
    form = BureauForm(prefix="b")
    if not form.validate_on_submit():
        flash(_("The form has errors: see the fields in red."), "error")
        return _bureau_page(b, form, 400)
    try:
        changes = operations.update_bureau(b, _bureau_values(form))
    except operations.Refused as exc:
        form.number.errors.append(str(exc))
        return _bureau_page(b, form, 400)
    db.session.commit()
    flash(_("Polling station %(n)s saved.", n=b.number) if changes else _("Nothing changed."), "success")
    return redirect(url_for("electoral.bureau", bureau_id=b.id))


@bp.post("/bureaux/<int:bureau_id>/supprimer")
@requires("electoral.write")
def bureau_delete(bureau_id: int):
    b = bureau_or_404(bureau_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    number = b.number
    try:
        operations.delete_bureau(b)
    except operations.Refused as exc:
        flash(str(exc), "error")
        return redirect(url_for("electoral.bureau", bureau_id=b.id))
    db.session.commit()
    flash(_("Polling station %(n)s deleted.", n=number), "success")
    return redirect(url_for("electoral.bureaux"))


@bp.post("/decoupage/<int:street_id>/modifier")
@requires("electoral.write")
def street_edit(street_id: int):
    row = street_or_404(street_id)
    form = StreetForm(prefix="s")
    form.bureau.choices = [(b.id, b.label) for b in bureaux()]
    back = request.form.get("back") == "bureau"
    if not form.validate_on_submit():
        flash(_("Enter the street and choose an existing polling station."), "error")
    else:
        try:
            operations.update_street(row, form.street.data, db.session.get(PollingStation, form.bureau.data))
        except operations.Refused as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Street table updated."), "success")
            if back:
                return redirect(url_for("electoral.bureau", bureau_id=row.bureau_id))
    return redirect(url_for("electoral.bureau", bureau_id=row.bureau_id) if back else url_for("electoral.bureaux"))


@bp.post("/decoupage/<int:street_id>/supprimer")
@requires("electoral.write")
def street_delete(street_id: int):
    row = street_or_404(street_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    bureau_id = row.bureau_id
    operations.delete_street(row)
    db.session.commit()
    flash(_("Street removed from the table."), "success")
    if request.form.get("back") == "bureau":
        return redirect(url_for("electoral.bureau", bureau_id=bureau_id))
    return redirect(url_for("electoral.bureaux"))


@bp.get("/bureaux/carte")
def bureaux_map():
    """The map document shown in an iframe; ``choisir=1`` (with electoral.write) lets a click set a location."""
    selected = None
    if request.args.get("bureau"):
        selected = bureau_or_404(request.args.get("bureau", type=int) or 0)
    pick = request.args.get("choisir") == "1" and "electoral.write" in g.permissions
    return map_response(bureaux(), selected, pick)
