"""Staff pages of the file exchange with the REU: import (upload, preview, confirm or cancel) and export."""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.registry import requires
from portal.responses import csv_response

from .. import csvio, operations
from ..access import pending_batch_or_404
from ..forms import ConfirmForm, ImportForm
from ..models import ImportBatch
from .common import bp, commune, registered

log = logging.getLogger(__name__)

MAX_UPLOAD = 30 * 1024 * 1024


@bp.route("/import", methods=["GET", "POST"])
@requires("electoral.write")
def import_file():
    form = ImportForm()
    if form.validate_on_submit():
        raw = form.file.data.read(MAX_UPLOAD + 1)
        name = (form.file.data.filename or "fichier.csv")[:200]
        if len(raw) > MAX_UPLOAD:
            flash(_("The file is too large (30 MB at most)."), "error")
        else:
            batch = ImportBatch(commune_insee=commune().insee, filename=name, content=raw,
                                author=current_user.email, status="pending")
            db.session.add(batch)
            db.session.commit()
            return redirect(url_for("electoral.import_preview", batch_id=batch.id))
    return render_template("electoral/import.html", form=form)


@bp.get("/import/<int:batch_id>")
@requires("electoral.write")
def import_preview(batch_id: int):
    batch = pending_batch_or_404(batch_id)
    try:
        plan = csvio.plan_import(batch.content, commune().insee)
    except csvio.FileError as exc:
        log.info("electoral import %s refused: %s", batch.id, exc)
        batch.status = "cancelled"
        db.session.commit()
        flash(str(exc), "error")
        return redirect(url_for("electoral.import_file"))
    audit.record("electoral.import_previewed", target=batch, **plan.summary())
    db.session.commit()
    return render_template("electoral/import_preview.html", batch=batch, plan=plan, form=ConfirmForm(),
                           typed=operations.removals_need_typing(plan))


@bp.post("/import/<int:batch_id>/confirmer")
@requires("electoral.write")
def import_confirm(batch_id: int):
    batch = pending_batch_or_404(batch_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        summary = operations.apply_batch(batch, commune().insee, request.form.get("removals", ""))
    except csvio.FileError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("electoral.import_preview", batch_id=batch.id))
    db.session.commit()
    flash(_("Import done: %(new)d registered, %(modified)d modified, %(reinstated)d reinstated, %(removed)d removed.",
            new=summary["new"], modified=summary["modified"], reinstated=summary["reinstated"],
            removed=summary["removed"]), "success")
    return redirect(url_for("electoral.index"))


@bp.post("/import/<int:batch_id>/annuler")
@requires("electoral.write")
def import_cancel(batch_id: int):
    batch = pending_batch_or_404(batch_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.cancel_batch(batch)
    db.session.commit()
    flash(_("Import cancelled: nothing was changed."), "success")
    return redirect(url_for("electoral.index"))


@bp.get("/export.csv")
@requires("electoral.read")
def export():
    voters = registered()
    data = csvio.export_csv(voters, commune())
    audit.record("electoral.roll_exported", target_type="Voter", voters=len(voters))
    db.session.commit()
    name = f"liste-electorale-{commune().insee}-{local_today().isoformat()}.csv"
    return csv_response((), name, text=data.decode("utf-8"))
