"""Pages (/s/electoral/) and JSON API (/api/v1/electoral/) of the electoral rolls service."""
from __future__ import annotations

import datetime as dt
import logging
import re

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from folium.elements import MacroElement
from folium.template import Template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import fold
from portal.registry import requires
from portal.responses import csv_response

from . import csvio, pdf, printing, roll
from .calendar import KIND_LISTS, KINDS, legal_calendar, upcoming
from .forms import (BureauForm, ChangeForm, CommissionForm, ConfirmForm, ElectionForm, ImportForm, RemoveForm,
                    StreetForm, VoterForm)
from .models import (Election, ImportBatch, Movement, PollingStation, PrintJob, StreetBureau, Voter,
                     legal_sort_key)

log = logging.getLogger(__name__)

bp = Blueprint("electoral", __name__, template_folder="templates", static_folder="static")
api = Blueprint("electoral_api", __name__)

REGISTRATION_REASONS = {
    "voluntary": _l("Voluntary application"), "insee_18": _l("Registered d'office by INSEE at 18"),
    "naturalisation": _l("Naturalisation"), "court_decision": _l("Court decision"),
    "arrival": _l("Arrival from another commune"), "import": _l("File import"),
    "demo": _l("Fictitious demonstration data"),
}
REMOVAL_REASONS = {
    "death": _l("Death"), "loss_of_attachment": _l("Loss of attachment to the commune"),
    "registered_elsewhere": _l("Registered in another commune"), "court_decision": _l("Court decision"),
    "import": _l("File import"),
}
REINSTATEMENT_REASONS = {
    "wrongful_removal": _l("Removal made in error"), "commission_decision": _l("Decision of the commission de contrôle"),
    "court_decision": _l("Court decision"), "insee": _l("Notified by INSEE (REU)"),
}
MOVEMENT_KINDS = {"registration": _l("Registration"), "removal": _l("Removal"), "reinstatement": _l("Reinstatement"),
                  "address": _l("Change of address"),
                  "bureau": _l("Change of polling station"), "civil_status": _l("Correction of civil status")}
LIST_LABELS = {"general": _l("Main list"), "eu": _l("Complementary list (European)"),
               "municipal": _l("Complementary list (municipal)")}
MAX_UPLOAD = 30 * 1024 * 1024


def _only_communes():
    """Voters belong to one commune: an EPCI or the department never sees them, whatever its convention says."""
    c = g.get("collectivity")
    if c is not None and c.kind != "commune":
        log.warning("electoral: refused to %s (collectivity %s is a %s)", request.path, c.id, c.kind)
        if request.blueprint == "electoral_api":
            return jsonify(error="Forbidden", status=403, message="Electoral rolls are open to communes only."), 403
        abort(403)
    return None


bp.before_request(_only_communes)
api.before_request(_only_communes)


@bp.app_template_filter("frdate")
def _frdate(value):
    return value.strftime("%d/%m/%Y") if value else ""


@bp.context_processor
def _labels():
    return {"REGISTRATION_REASONS": REGISTRATION_REASONS, "REMOVAL_REASONS": REMOVAL_REASONS,
            "REINSTATEMENT_REASONS": REINSTATEMENT_REASONS,
            "MOVEMENT_KINDS": MOVEMENT_KINDS, "LIST_LABELS": LIST_LABELS, "KINDS": KINDS}


def _commune():
    return g.collectivity


def _voter_or_404(voter_id: int) -> Voter:
    v = db.session.get(Voter, voter_id)
    if v is None:
        abort(404)
    return v


def _bureau_or_404(bureau_id: int) -> PollingStation:
    b = db.session.get(PollingStation, bureau_id)
    if b is None:
        abort(404)
    return b


def _bureaux():
    return db.session.scalars(select(PollingStation).order_by(PollingStation.number)).all()


def _elections():
    return db.session.scalars(select(Election).order_by(Election.first_round.desc())).all()


def _pdf_response(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"})


# Search and voter page ------------------------------------------------------------------------------------------

@bp.get("/")
def index():
    q = request.args.get("q", "")
    status = request.args.get("statut", "registered")
    status = status if status in ("registered", "removed") else "registered"
    bureau_id = request.args.get("bureau", type=int)
    page = max(request.args.get("page", 1, type=int), 1)
    voters, total = roll.search(q, bureau_id, status, limit=50, offset=(page - 1) * 50)
    if q:  # the searched text is a person's name: never in an event the department can read
        audit.record("electoral.voters_searched", target_type="Voter", results=total)
    today = dt.date.today()
    demo = db.session.scalar(select(Movement.id).where(Movement.reason == "demo").limit(1)) is not None
    return render_template("electoral/index.html", demo=demo, voters=voters, total=total, q=q, status=status,
                           bureau_id=bureau_id, bureaux=_bureaux(), page=page, pages=max((total + 49) // 50, 1),
                           deadlines=upcoming(_elections(), today), today=today)


@bp.get("/electeurs/<int:voter_id>")
def voter(voter_id: int):
    v = _voter_or_404(voter_id)
    audit.record("electoral.voter_viewed", target=v)
    db.session.commit()
    return render_template("electoral/voter.html", v=v, remove_form=RemoveForm(formdata=None),
                           removal_reasons=REMOVAL_REASONS, reinstate_form=RemoveForm(formdata=None))


def _voter_form_choices(form, proposed=None):
    form.bureau.choices = [(0, _("Proposed from the address"))] + [(b.id, b.label) for b in _bureaux()]
    form.reason.choices = [(k, str(v)) for k, v in REGISTRATION_REASONS.items() if k not in ("import", "demo")]


@bp.route("/inscrire", methods=["GET", "POST"])
@requires("electoral.write")
def register():
    form = VoterForm()
    _voter_form_choices(form)
    if request.method == "GET" and not form.effective_on.data:
        form.effective_on.data = dt.date.today().strftime("%d/%m/%Y")
    duplicates, elsewhere, proposed = [], False, None
    if form.validate_on_submit():
        data = form.values()
        duplicates = roll.same_identity_here(data["birth_name"], data["first_names"], data["birth_date"])
        elsewhere = roll.registered_elsewhere_in_department(data["birth_name"], data["first_names"],
                                                            data["birth_date"], _commune().insee)
        proposed = roll.propose_bureau(data["street_type"], data["street_name"], data["lieu_dit"])
        chosen = db.session.get(PollingStation, form.bureau.data) if form.bureau.data else None
        if form.bureau.data and chosen is None:
            form.bureau.errors.append(_("This polling station does not exist."))
        elif chosen is not None and proposed is not None and chosen.id != proposed.id and not form.bureau_reason.data:
            form.bureau_reason.errors.append(_("Give the reason why you do not keep the proposed polling station."))
        elif (duplicates or elsewhere) and not form.confirm_duplicate.data:
            db.session.commit()  # keeps the audit event of the department lookup
            flash(_("Check the possible duplicate below before registering."), "warning")
        else:
            try:
                v = roll.register(_commune().insee, data, form.reason.data, roll.parse_date(form.effective_on.data),
                                  note=form.note.data or "", bureau=chosen, forced_bureau_reason=form.bureau_reason.data,
                                  **_justification(form))
            except roll.RollError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                db.session.commit()
                flash(_("%(name)s is registered.", name=v.display_name), "success")
                return redirect(url_for("electoral.voter", voter_id=v.id))
    elif request.method == "POST":
        flash(_("The form has errors: see the fields in red."), "error")
    return render_template("electoral/register.html", form=form, duplicates=duplicates, elsewhere=elsewhere,
                           proposed=proposed)


@bp.get("/bureau-propose")
@requires("electoral.write")
def proposed_bureau():
    b = roll.propose_bureau(request.args.get("type", ""), request.args.get("voie", ""), request.args.get("lieudit", ""))
    return jsonify(bureau=None if b is None else {"id": b.id, "label": b.label})


@bp.route("/electeurs/<int:voter_id>/modifier", methods=["GET", "POST"])
@requires("electoral.write")
def change(voter_id: int):
    v = _voter_or_404(voter_id)
    form = ChangeForm(obj=None if request.method == "POST" else v)
    _voter_form_choices(form)
    form.kind.choices = [(k, str(MOVEMENT_KINDS[k])) for k in ("address", "bureau", "civil_status")]
    form.reason.choices = [("declared", _("Declared by the voter")), ("insee", _("Notified by INSEE")),
                           ("correction", _("Correction of an error"))]
    if request.method == "GET":
        form.birth_date.data = v.birth_date.strftime("%d/%m/%Y")
        form.effective_on.data = dt.date.today().strftime("%d/%m/%Y")
        form.bureau.data = v.bureau_id or 0
    if form.validate_on_submit():
        chosen = db.session.get(PollingStation, form.bureau.data) if form.bureau.data else None
        try:
            m = roll.update(v, form.values(), form.kind.data, form.reason.data,
                            roll.parse_date(form.effective_on.data), note=form.note.data or "", bureau=chosen,
                            **_justification(form))
        except roll.RollError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The change is recorded in the history.") if m else _("Nothing changed."), "success")
            return redirect(url_for("electoral.voter", voter_id=v.id))
    return render_template("electoral/change.html", form=form, v=v)


def _justification(form) -> dict:
    content = getattr(form.justification, "content", None)
    if not content:
        return {}
    return {"justification": content, "justification_name": form.justification.data.filename[-200:]}


def _movement(voter_id: int, reasons: dict, apply, done_message: str, what: str):
    """The removal and reinstatement forms: a reason, an effective date, a note and an optional supporting document;
    the roll's refusal (a RollError) is shown in French and nothing is written."""
    v = _voter_or_404(voter_id)
    form = RemoveForm()
    form.reason.choices = [(k, str(x)) for k, x in reasons.items()]
    if form.validate_on_submit():
        try:
            apply(v, form.reason.data, roll.parse_date(form.effective_on.data), note=form.note.data or "",
                  **_justification(form))
        except roll.RollError as exc:
            db.session.rollback()
            log.info("electoral: %s of voter %s refused: %s", what, v.id, exc)
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(done_message % {"name": v.display_name}, "success")
    else:
        for e in form.justification.errors:
            flash(str(e), "error")
        if not form.justification.errors:
            flash(_("Enter the reason and a real effective date (DD/MM/YYYY)."), "error")
    return redirect(url_for("electoral.voter", voter_id=v.id))


@bp.post("/electeurs/<int:voter_id>/radier")
@requires("electoral.write")
def remove(voter_id: int):
    reasons = {k: x for k, x in REMOVAL_REASONS.items() if k != "import"}
    return _movement(voter_id, reasons, roll.remove, _("%(name)s is removed from the roll."), "removal")


@bp.post("/electeurs/<int:voter_id>/reinscrire")
@requires("electoral.write")
def reinstate(voter_id: int):
    return _movement(voter_id, REINSTATEMENT_REASONS, roll.reinstate, _("%(name)s is back on the roll."),
                     "reinstatement")


@bp.get("/mouvements/<int:movement_id>/justificatif")
def justification(movement_id: int):
    import os

    from .forms import JUSTIFICATION_TYPES

    m = db.session.get(Movement, movement_id)
    if m is None or not m.justification:
        abort(404)
    audit.record("electoral.justification_read", target=m, voter=m.voter_id)
    db.session.commit()
    ext = os.path.splitext(m.justification_name)[1].lower()
    safe = "".join(ch for ch in m.justification_name if ch.isalnum() or ch in "._-") or "justificatif"
    return Response(m.justification, mimetype=JUSTIFICATION_TYPES.get(ext, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})


# Import / export -------------------------------------------------------------------------------------------------

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
            batch = ImportBatch(commune_insee=_commune().insee, filename=name, content=raw,
                                author=current_user.email,
                                status="pending")
            db.session.add(batch)
            db.session.commit()
            return redirect(url_for("electoral.import_preview", batch_id=batch.id))
    return render_template("electoral/import.html", form=form)


def _pending_batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status != "pending":
        abort(404)
    return batch


@bp.get("/import/<int:batch_id>")
@requires("electoral.write")
def import_preview(batch_id: int):
    batch = _pending_batch(batch_id)
    try:
        plan = csvio.plan_import(batch.content, _commune().insee)
    except csvio.FileError as exc:
        log.info("electoral import %s refused: %s", batch.id, exc)
        batch.status = "cancelled"
        db.session.commit()
        flash(str(exc), "error")
        return redirect(url_for("electoral.import_file"))
    audit.record("electoral.import_previewed", target=batch, **plan.summary())
    db.session.commit()
    return render_template("electoral/import_preview.html", batch=batch, plan=plan, form=ConfirmForm(),
                           typed=_removals_need_typing(plan))


def _removals_need_typing(plan) -> bool:
    """Many removals at once (a truncated file?) need the number typed, not a plain click."""
    registered = db.session.scalar(select(func.count(Voter.id)).where(Voter.status == "registered")) or 0
    threshold = csvio.removal_threshold(
        registered, float(current_app.config.get("ELECTORAL_IMPORT_REMOVAL_PERCENT") or 10),
        int(current_app.config.get("ELECTORAL_IMPORT_REMOVAL_MAX") or 50))
    return len(plan.removed) > threshold


@bp.post("/import/<int:batch_id>/confirmer")
@requires("electoral.write")
def import_confirm(batch_id: int):
    batch = _pending_batch(batch_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        plan = csvio.plan_import(batch.content, _commune().insee)
        if _removals_need_typing(plan) and request.form.get("removals", "").strip() != str(len(plan.removed)):
            log.info("electoral import %s: %d removals not confirmed by their number", batch.id, len(plan.removed))
            raise csvio.FileError(_("This import removes %(n)d voters: type this number in the box to confirm "
                                    "the removals.", n=len(plan.removed)))
        summary = csvio.apply_import(plan, _commune().insee, filename=batch.filename)
    except csvio.FileError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("electoral.import_preview", batch_id=batch.id))
    batch.status = "applied"
    batch.summary = summary
    audit.record("electoral.import_applied", target=batch, **summary)
    db.session.commit()
    flash(_("Import done: %(new)d registered, %(modified)d modified, %(reinstated)d reinstated, %(removed)d removed.",
            new=summary["new"], modified=summary["modified"], reinstated=summary["reinstated"],
            removed=summary["removed"]), "success")
    return redirect(url_for("electoral.index"))


@bp.post("/import/<int:batch_id>/annuler")
@requires("electoral.write")
def import_cancel(batch_id: int):
    batch = _pending_batch(batch_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    batch.status = "cancelled"
    batch.content = b""
    audit.record("electoral.import_cancelled", target=batch, filename=batch.filename)
    db.session.commit()
    flash(_("Import cancelled: nothing was changed."), "success")
    return redirect(url_for("electoral.index"))


def _registered():
    return db.session.scalars(select(Voter).where(Voter.status == "registered")).all()


@bp.get("/export.csv")
@requires("electoral.read")
def export():
    voters = _registered()
    data = csvio.export_csv(voters, _commune())
    audit.record("electoral.roll_exported", target_type="Voter", voters=len(voters))
    db.session.commit()
    name = f"liste-electorale-{_commune().insee}-{dt.date.today().isoformat()}.csv"
    return csv_response((), name, text=data.decode("utf-8"))


# Bureaux, découpage ----------------------------------------------------------------------------------------------

@bp.route("/bureaux", methods=["GET", "POST"])
def bureaux():
    form, street_form = BureauForm(prefix="b"), StreetForm(prefix="s")
    street_form.bureau.choices = [(b.id, b.label) for b in _bureaux()]
    if request.method == "POST":
        if "electoral.write" not in g.permissions:
            abort(403)
        if "b-number" in request.form and form.validate_on_submit():
            number = form.number.data.strip()
            if db.session.scalar(select(PollingStation).where(PollingStation.number == number)):
                form.number.errors.append(_("A polling station already has this number."))
            else:
                b = PollingStation(commune_insee=_commune().insee, number=number, name=form.name.data.strip(),
                                   address=(form.address.data or "").strip(),
                                   latitude=float(form.latitude.data) if form.latitude.data is not None else None,
                                   longitude=float(form.longitude.data) if form.longitude.data is not None else None)
                db.session.add(b)
                audit.record("electoral.bureau_created", target_type="PollingStation", number=number)
                db.session.commit()
                flash(_("Polling station %(n)s created.", n=number), "success")
                return redirect(url_for("electoral.bureaux"))
        elif "s-street" in request.form and street_form.validate_on_submit():
            b = db.session.get(PollingStation, street_form.bureau.data)
            key = fold(street_form.street.data)
            if b is None:
                street_form.bureau.errors.append(_("This polling station does not exist."))
            else:
                row = db.session.scalar(select(StreetBureau).where(StreetBureau.street_key == key))
                if row is None:
                    row = StreetBureau(commune_insee=_commune().insee, street_key=key, street_label="")
                    db.session.add(row)
                row.street_label, row.bureau = street_form.street.data.strip(), b
                audit.record("electoral.street_assigned", target_type="StreetBureau", street=key, bureau=b.number)
                db.session.commit()
                flash(_("Street assigned to polling station %(n)s.", n=b.number), "success")
                return redirect(url_for("electoral.bureaux"))
    streets = db.session.scalars(select(StreetBureau).order_by(StreetBureau.street_key)).all()
    counts = {}
    for v in _registered():
        counts[v.bureau_id] = counts.get(v.bureau_id, 0) + 1
    return render_template("electoral/bureaux.html", bureaux=_bureaux(), streets=streets, form=form,
                           street_form=street_form, counts=counts, elections=_elections(), confirm=ConfirmForm())


def _bureau_values(form) -> dict:
    return {"number": form.number.data.strip(), "name": form.name.data.strip(),
            "address": (form.address.data or "").strip(),
            "latitude": float(form.latitude.data) if form.latitude.data is not None else None,
            "longitude": float(form.longitude.data) if form.longitude.data is not None else None}


@bp.get("/bureaux/<int:bureau_id>")
def bureau(bureau_id: int):
    b = _bureau_or_404(bureau_id)
    form = BureauForm(prefix="b", formdata=None, obj=b)
    return _bureau_page(b, form)


def _bureau_page(b: PollingStation, form, status: int = 200):
    streets = db.session.scalars(select(StreetBureau).where(StreetBureau.bureau_id == b.id)
                                 .order_by(StreetBureau.street_key)).all()
    voters = db.session.scalar(select(func.count(Voter.id)).where(Voter.bureau_id == b.id,
                                                                  Voter.status == "registered"))
    street_form = StreetForm(prefix="s", formdata=None)
    street_form.bureau.choices = [(x.id, x.label) for x in _bureaux()]
    return render_template("electoral/bureau.html", b=b, form=form, streets=streets, voters=voters,
                           street_form=street_form, confirm=ConfirmForm(), elections=_elections()), status


@bp.post("/bureaux/<int:bureau_id>/modifier")
@requires("electoral.write")
def bureau_edit(bureau_id: int):
    b = _bureau_or_404(bureau_id)
    form = BureauForm(prefix="b")
    if not form.validate_on_submit():
        flash(_("The form has errors: see the fields in red."), "error")
        return _bureau_page(b, form, 400)
    values = _bureau_values(form)
    other = db.session.scalar(select(PollingStation).where(PollingStation.number == values["number"],
                                                           PollingStation.id != b.id))
    if other is not None:
        form.number.errors.append(_("A polling station already has this number."))
        return _bureau_page(b, form, 400)
    changes = {k: [getattr(b, k), v] for k, v in values.items() if getattr(b, k) != v}
    for k, (_before, after) in changes.items():
        setattr(b, k, after)
    if changes:
        audit.record("electoral.bureau_updated", target=b, changes=changes)
    db.session.commit()
    flash(_("Polling station %(n)s saved.", n=b.number) if changes else _("Nothing changed."), "success")
    return redirect(url_for("electoral.bureau", bureau_id=b.id))


@bp.post("/bureaux/<int:bureau_id>/supprimer")
@requires("electoral.write")
def bureau_delete(bureau_id: int):
    b = _bureau_or_404(bureau_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    registered = db.session.scalar(select(func.count(Voter.id)).where(Voter.bureau_id == b.id,
                                                                      Voter.status == "registered"))
    removed = db.session.scalar(select(func.count(Voter.id)).where(Voter.bureau_id == b.id,
                                                                   Voter.status != "registered"))
    if registered or removed:
        log.info("electoral: deletion of bureau %s refused (%s registered, %s removed voters attached)",
                 b.id, registered, removed)
        if registered:
            flash(_("Polling station %(n)s cannot be deleted: %(count)d voter(s) are attached to it. Move them to "
                    "another polling station first.", n=b.number, count=registered), "error")
        else:
            flash(_("Polling station %(n)s cannot be deleted: the history of %(count)d removed voter(s) refers to "
                    "it.", n=b.number, count=removed), "error")
        return redirect(url_for("electoral.bureau", bureau_id=b.id))
    streets = db.session.scalars(select(StreetBureau).where(StreetBureau.bureau_id == b.id)).all()
    for row in streets:
        db.session.delete(row)
    audit.record("electoral.bureau_deleted", target=b, number=b.number, name=b.name,
                 streets=[row.street_label for row in streets])
    db.session.delete(b)
    db.session.commit()
    flash(_("Polling station %(n)s deleted.", n=b.number), "success")
    return redirect(url_for("electoral.bureaux"))


def _street_or_404(street_id: int) -> StreetBureau:
    row = db.session.get(StreetBureau, street_id)
    if row is None:
        abort(404)
    return row


@bp.post("/decoupage/<int:street_id>/modifier")
@requires("electoral.write")
def street_edit(street_id: int):
    row = _street_or_404(street_id)
    form = StreetForm(prefix="s")
    form.bureau.choices = [(b.id, b.label) for b in _bureaux()]
    back = request.form.get("back") == "bureau"
    if not form.validate_on_submit():
        flash(_("Enter the street and choose an existing polling station."), "error")
    else:
        key = fold(form.street.data)
        clash = db.session.scalar(select(StreetBureau).where(StreetBureau.street_key == key,
                                                             StreetBureau.id != row.id))
        b = db.session.get(PollingStation, form.bureau.data)
        if clash is not None:
            flash(_("This street is already in the table (polling station %(n)s).", n=clash.bureau.number), "error")
        elif b is None:
            flash(_("This polling station does not exist."), "error")
        else:
            before = {"street": row.street_label, "bureau": row.bureau.number}
            row.street_key, row.street_label, row.bureau = key, form.street.data.strip(), b
            audit.record("electoral.street_updated", target=row, before=before,
                         after={"street": row.street_label, "bureau": b.number})
            db.session.commit()
            flash(_("Street table updated."), "success")
            if back:
                return redirect(url_for("electoral.bureau", bureau_id=b.id))
    return redirect(url_for("electoral.bureau", bureau_id=row.bureau_id) if back else url_for("electoral.bureaux"))


@bp.post("/decoupage/<int:street_id>/supprimer")
@requires("electoral.write")
def street_delete(street_id: int):
    row = _street_or_404(street_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    bureau_id = row.bureau_id
    audit.record("electoral.street_deleted", target=row, street=row.street_label, bureau=row.bureau.number)
    db.session.delete(row)
    db.session.commit()
    flash(_("Street removed from the table."), "success")
    if request.form.get("back") == "bureau":
        return redirect(url_for("electoral.bureau", bureau_id=bureau_id))
    return redirect(url_for("electoral.bureaux"))


MAP_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: {basemap}; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
           "form-action 'none'")


class _PickLocation(MacroElement):
    """In the bureau's edit form: a click on the map drops a marker and tells the page around it the coordinates
    (postMessage, same origin only); the page fills the latitude and longitude fields."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var pickMarker = null;
        {{ this._parent.get_name() }}.on('click', function (e) {
            var lat = Math.round(e.latlng.lat * 1e6) / 1e6, lon = Math.round(e.latlng.lng * 1e6) / 1e6;
            if (pickMarker) { pickMarker.setLatLng(e.latlng); }
            else { pickMarker = L.circleMarker(e.latlng, {radius: 9, color: '#ce0500', weight: 3}).addTo({{ this._parent.get_name() }}); }
            if (window.parent !== window) {
                window.parent.postMessage({type: 'electoral-location', lat: lat, lon: lon}, window.location.origin);
            }
        });
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "PickLocation"


def build_map(selected: PollingStation | None, pick: bool) -> str:
    """A folium map of the commune's bureaux (each one a labelled point); the selected one in red."""
    import html

    import folium

    static = lambda f: url_for("electoral.static", filename=f)  # noqa: E731
    m = folium.Map(tiles=None, control_scale=True, zoom_control=True, max_zoom=19)
    m.default_js = [("leaflet", static("vendor/leaflet/leaflet.js"))]
    m.default_css = [("leaflet_css", static("vendor/leaflet/leaflet.css")), ("electoral_map_css", static("map.css"))]
    basemap = current_app.config.get("ELECTORAL_BASEMAP_URL") or ""
    if basemap:
        folium.TileLayer(basemap, attr=current_app.config.get("ELECTORAL_BASEMAP_ATTRIBUTION") or "OpenStreetMap",
                         name=_("Base map"), max_zoom=19).add_to(m)
    points = []
    for b in _bureaux():
        if b.latitude is None or b.longitude is None:
            continue
        chosen = selected is not None and b.id == selected.id
        # a permanent label (no popup: folium's popups need jQuery, which the map does not load)
        label = html.escape(_("Polling station %(n)s", n=b.label)).replace("`", "&#96;").replace("$", "&#36;")
        folium.CircleMarker([b.latitude, b.longitude], radius=10 if chosen else 7, weight=3 if chosen else 2,
                            color="#ce0500" if chosen else "#000091", fill=True, fill_opacity=0.6,
                            tooltip=folium.Tooltip(label, permanent=True, direction="right")).add_to(m)
        points.append((b.latitude, b.longitude))
    if selected is not None and selected.latitude is not None and selected.longitude is not None:
        m.location, m.options["zoom"] = [selected.latitude, selected.longitude], 16
    elif len(points) == 1:
        m.location, m.options["zoom"] = list(points[0]), 15
    elif points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(30, 30))
    else:
        m.location, m.options["zoom"] = [48.3, 4.1], 9  # the department, before any bureau is located
    if pick:
        _PickLocation().add_to(m)
    return m.get_root().render()


@bp.get("/bureaux/carte")
def bureaux_map():
    selected = None
    if request.args.get("bureau"):
        selected = _bureau_or_404(request.args.get("bureau", type=int) or 0)
    pick = request.args.get("choisir") == "1" and "electoral.write" in g.permissions
    resp = Response(build_map(selected, pick), mimetype="text/html")
    origin = re.match(r"^(https?://[^/{]+)", current_app.config.get("ELECTORAL_BASEMAP_URL") or "")
    resp.headers["Content-Security-Policy"] = MAP_CSP.format(basemap=origin.group(1) if origin else "")
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


# PDFs ------------------------------------------------------------------------------------------------------------

def _election_arg():
    eid = request.args.get("scrutin", type=int)
    if not eid:
        return None
    e = db.session.get(Election, eid)
    if e is None:
        abort(404)
    return e


def _voters_of(bureau: PollingStation | None, election: Election | None):
    voters = [v for v in _registered() if bureau is None or v.bureau_id == bureau.id]
    if election is not None and election.lists:
        voters = [v for v in voters if any(getattr(v, f"on_{name}") for name in election.lists)]
    return sorted(voters, key=legal_sort_key)


@bp.get("/bureaux/<int:bureau_id>/emargement.pdf")
def emargement(bureau_id: int):
    b = _bureau_or_404(bureau_id)
    election = _election_arg()
    voters = _voters_of(b, election)
    if len(voters) > printing.inline_limit():
        return _offer_background("emargement", b, election, len(voters))
    [data] = pdf.render_emargements([(_emargement_header(b, election), voters,
                                      dict(bureau=b, election=election, commune=_commune()))])
    audit.record("electoral.emargement_printed", target=b, voters=len(voters),
                 election=election.id if election else None)
    db.session.commit()
    return _pdf_response(data, f"emargement-bureau-{b.number}.pdf")


@bp.get("/emargement.zip")
def emargement_all():
    """The émargement lists of every bureau, one PDF each in a ZIP, rendered in parallel."""
    import io
    import zipfile

    election = _election_arg()
    bureaux = _bureaux()
    if not bureaux:
        flash(_("No polling station yet: create the first one below."), "error")
        return redirect(url_for("electoral.bureaux"))
    by_bureau = {b.id: [] for b in bureaux}
    for v in _voters_of(None, election):
        if v.bureau_id in by_bureau:
            by_bureau[v.bureau_id].append(v)
    total = sum(len(x) for x in by_bureau.values())
    if total > printing.inline_limit():
        return _offer_background("emargement", None, election, total)
    rendered = pdf.render_emargements([(_emargement_header(b, election), by_bureau[b.id],
                                        dict(bureau=b, election=election, commune=_commune())) for b in bureaux])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for b, data in zip(bureaux, rendered):
            zf.writestr(f"emargement-bureau-{b.number}.pdf", data)
    audit.record("electoral.emargement_printed", target_type="PollingStation", target_id="all",
                 voters=sum(len(x) for x in by_bureau.values()), election=election.id if election else None)
    db.session.commit()
    return Response(buf.getvalue(), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="emargement-{_commune().insee}.zip"', "Cache-Control": "no-store"})


def _emargement_header(b, election):
    return printing.emargement_header(_commune(), b, election)


# Large print runs in the background ----------------------------------------------------------------------------

def _offer_background(kind: str, b: PollingStation | None, election: Election | None, voters: int):
    """Too many voters for one web request: a page that starts the print run in the background (POST, CSRF)."""
    return render_template("electoral/print_offer.html", kind=kind, b=b, election=election, voters=voters,
                           form=ConfirmForm(), limit=printing.inline_limit())


@bp.post("/impressions")
@requires("electoral.write")
def print_start():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    kind = request.form.get("kind", "")
    if kind not in printing.KINDS:
        abort(400)
    b = _bureau_or_404(request.form.get("bureau", type=int)) if request.form.get("bureau") else None
    election = None
    if request.form.get("scrutin"):
        election = db.session.get(Election, request.form.get("scrutin", type=int) or 0)
        if election is None:
            abort(404)
    if kind == "cards" and b is None:
        abort(400)
    voters = len(printing.voters_for(b, election if kind == "emargement" else None))
    job = printing.start(kind, _commune(), b, election if kind == "emargement" else None, voters, current_user)
    db.session.commit()
    job_id = job.id
    printing.enqueue(job_id)
    return redirect(url_for("electoral.print_job", job_id=job_id))


@bp.get("/impressions")
def print_jobs():
    jobs = db.session.scalars(select(PrintJob).order_by(PrintJob.id.desc()).limit(30)).all()
    return render_template("electoral/print_jobs.html", jobs=jobs)


def _job_or_404(job_id: int) -> PrintJob:
    job = db.session.get(PrintJob, job_id)
    if job is None:
        abort(404)
    return job


@bp.get("/impressions/<int:job_id>")
def print_job(job_id: int):
    job = _job_or_404(job_id)
    return render_template("electoral/print_job.html", job=job)


@bp.get("/impressions/<int:job_id>/fichier")
def print_download(job_id: int):
    import os

    job = _job_or_404(job_id)
    if job.status != "done" or not job.path or not os.path.exists(job.path):
        abort(404)
    audit.record("electoral.print_downloaded", target=job, kind=job.kind, voters=job.voters)
    db.session.commit()
    with open(job.path, "rb") as fh:
        data = fh.read()
    mimetype = "application/zip" if job.filename.endswith(".zip") else "application/pdf"
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{job.filename}"', "Cache-Control": "no-store"})


@bp.get("/bureaux/<int:bureau_id>/cartes.pdf")
def cards(bureau_id: int):
    b = _bureau_or_404(bureau_id)
    voters = _voters_of(b, None)
    if len(voters) > printing.inline_limit():
        return _offer_background("cards", b, None, len(voters))
    header = printing.cards_header(_commune(), b)
    data = pdf.render_pdf("electoral/pdf/cards.html", header, voters=voters, bureau=b, commune=_commune(),
                          qr=pdf.card_qr)
    audit.record("electoral.cards_printed", target=b, voters=len(voters))
    db.session.commit()
    return _pdf_response(data, f"cartes-electorales-bureau-{b.number}.pdf")


@bp.get("/liste-generale.pdf")
def general_list():
    """The roll today, or at a past date (``au``) rebuilt from the registrations and removals of the history."""
    day = dt.date.today()
    if request.args.get("au"):
        day = roll.parse_date(request.args["au"])
        if day is None or day > dt.date.today():
            flash(_("Enter a real past date as DD/MM/YYYY."), "error")
            return redirect(url_for("electoral.bureaux"))
        ids = set(roll.roll_at(day))
        voters = [v for v in db.session.scalars(select(Voter)) if v.id in ids]
    else:
        voters = _registered()
    voters = sorted(voters, key=legal_sort_key)
    header = " — ".join((_commune().name, _("Electoral roll")))
    data = pdf.render_pdf("electoral/pdf/general.html", header, voters=voters, commune=_commune(),
                          today=day, past=day != dt.date.today())
    audit.record("electoral.roll_printed", target_type="Voter", voters=len(voters), on=day.isoformat())
    db.session.commit()
    return _pdf_response(data, f"liste-electorale-{_commune().insee}.pdf")


@bp.get("/statistiques.pdf")
def statistics():
    today = dt.date.today()
    rows = pdf.statistics(_registered(), _bureaux(), today)
    data = pdf.render_pdf("electoral/pdf/statistics.html", " — ".join((_commune().name, _("Statistics"))), rows=rows,
                          commune=_commune(), today=today)
    audit.record("electoral.statistics_printed", target_type="Voter")
    db.session.commit()
    return _pdf_response(data, f"statistiques-{_commune().insee}.pdf")


@bp.get("/commission")
def commission():
    form = CommissionForm(request.args)
    movements, counts = [], {}
    if request.args and form.validate():
        start, end = roll.parse_date(form.du.data), roll.parse_date(form.au.data)
        movements = _movements_between(start, end)
        for m in movements:
            counts[m.kind] = counts.get(m.kind, 0) + 1
        if request.args.get("format") == "pdf":
            header = " — ".join((_commune().name, _("Commission de contrôle"), f"{form.du.data} – {form.au.data}"))
            data = pdf.render_pdf("electoral/pdf/commission.html", header, movements=movements, counts=counts,
                                  commune=_commune(), start=start, end=end)
            audit.record("electoral.commission_printed", target_type="Movement", movements=len(movements),
                         start=start.isoformat(), end=end.isoformat())
            db.session.commit()
            return _pdf_response(data, f"commission-controle-{start.isoformat()}-{end.isoformat()}.pdf")
        audit.record("electoral.commission_viewed", target_type="Movement", movements=len(movements))
        db.session.commit()
    elif not request.args:
        today = dt.date.today()
        form.du.data = (today - dt.timedelta(days=30)).strftime("%d/%m/%Y")
        form.au.data = today.strftime("%d/%m/%Y")
    return render_template("electoral/commission.html", form=form, movements=movements, counts=counts,
                           searched=bool(request.args) and not form.errors)


def _movements_between(start: dt.date, end: dt.date):
    return db.session.scalars(select(Movement).where(Movement.effective_on >= start, Movement.effective_on <= end)
                              .order_by(Movement.kind, Movement.effective_on, Movement.id)).all()


@bp.get("/jeunes")
def young():
    """People reaching 18 before the next election: INSEE registers them d'office; the commune checks."""
    today = dt.date.today()
    nxt = db.session.scalars(select(Election).where(Election.first_round >= today)
                             .order_by(Election.first_round)).first()
    limit = nxt.first_round if nxt else today + dt.timedelta(days=365)
    voters = [v for v in _registered() if v.age_on(limit) >= 18 and v.age_on(today - dt.timedelta(days=365)) < 18]
    audit.record("electoral.young_listed", target_type="Voter", voters=len(voters))
    db.session.commit()
    return render_template("electoral/young.html", voters=sorted(voters, key=legal_sort_key), election=nxt,
                           limit=limit)


# Elections and their calendar ------------------------------------------------------------------------------------

@bp.route("/scrutins", methods=["GET", "POST"])
def elections():
    form = ElectionForm()
    if request.method == "POST":
        if "electoral.write" not in g.permissions:
            abort(403)
        if form.validate_on_submit():
            first = roll.parse_date(form.first_round.data)
            second = roll.parse_date(form.second_round.data) if form.second_round.data else None
            if second is not None and second <= first:
                form.second_round.errors.append(_("The second round comes after the first."))
            else:
                e = Election(commune_insee=_commune().insee, kind=form.kind.data, first_round=first,
                             second_round=second, title=(form.title.data or "").strip()
                             or f"{KINDS[form.kind.data]} {first.strftime('%d/%m/%Y')}",
                             lists=KIND_LISTS.get(form.kind.data, ["general"]))
                db.session.add(e)
                audit.record("electoral.election_created", target_type="Election", kind=e.kind)
                db.session.commit()
                return redirect(url_for("electoral.election", election_id=e.id))
    return render_template("electoral/elections.html", elections=_elections(), form=form)


@bp.get("/scrutins/<int:election_id>")
def election(election_id: int):
    e = db.session.get(Election, election_id)
    if e is None:
        abort(404)
    return render_template("electoral/election.html", e=e, calendar=legal_calendar(e.kind, e.first_round,
                                                                                     e.second_round),
                           bureaux=_bureaux(), today=dt.date.today())


# JSON API --------------------------------------------------------------------------------------------------------

def voter_json(v: Voter, full: bool = False) -> dict:
    out = {"id": v.id, "birth_name": v.birth_name, "usage_name": v.usage_name, "first_names": v.first_names,
           "birth_date": v.birth_date.isoformat(), "sex": v.sex, "ine": v.ine, "status": v.status,
           "bureau": v.bureau.number if v.bureau else None, "lists": v.lists, "address": v.address_line,
           "town": v.town_line}
    if full:
        out["birth_place"] = v.birth_place_line
        out["nationality"] = v.nationality
        out["history"] = [{"kind": m.kind, "reason": m.reason, "effective_on": m.effective_on.isoformat(),
                           "author": m.author, "changes": m.changes, "note": m.note} for m in v.movements]
    return out


@api.get("/voters")
def api_voters():
    q = request.args.get("q", "")
    limit = min(max(request.args.get("limit", 50, type=int), 1), 200)
    offset = max(request.args.get("offset", 0, type=int), 0)
    rows, total = roll.search(q, request.args.get("bureau", type=int), request.args.get("status", "registered"),
                              limit=limit, offset=offset)
    audit.record("electoral.voters_searched", target_type="Voter", results=total, via="api")
    db.session.commit()
    return jsonify(total=total, items=[voter_json(v) for v in rows])


@api.post("/voters")
@requires("electoral.write")
def api_register():
    """Register a voter from JSON. Duplicates are checked first: 409 with the ids of the same identity in the commune
    and a yes/no for the rest of the department, unless ``confirm_duplicate`` is true."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="Bad Request", status=400, message="Send a JSON object."), 400
    errors = {}
    values = {}
    for name in ("birth_name", "usage_name", "first_names", "birth_place", "birth_department", "birth_country",
                 "nationality", "street_number", "street_type", "street_name", "lieu_dit", "complement1",
                 "postal_code", "city", "ine"):
        value = data.get(name, "")
        if not isinstance(value, str):
            errors[name] = "must be a string"
        values[name] = str(value or "").strip()[:200]
    values["birth_name"], values["usage_name"] = values["birth_name"].upper(), values["usage_name"].upper()
    for name in ("birth_name", "first_names"):
        if not values[name]:
            errors[name] = "required"
    values["sex"] = str(data.get("sex", "")).upper()
    if values["sex"] not in ("M", "F"):
        errors["sex"] = "M or F"
    birth = roll.parse_date(str(data.get("birth_date", "")))
    if birth is None:
        errors["birth_date"] = "a real date, YYYY-MM-DD or DD/MM/YYYY"
    values["birth_date"] = birth
    if not values["birth_place"] and not values["birth_country"]:
        errors["birth_place"] = "birth_place or birth_country required"
    lists = data.get("lists", ["general"])
    if not isinstance(lists, list) or not lists or any(x not in LIST_LABELS for x in lists):
        errors["lists"] = "a non-empty list of general, eu, municipal"
        lists = []
    for name in LIST_LABELS:
        values[f"on_{name}"] = name in lists
    reason = data.get("reason", "voluntary")
    if reason not in REGISTRATION_REASONS or reason in ("import", "demo"):
        errors["reason"] = "one of " + ", ".join(k for k in REGISTRATION_REASONS if k not in ("import", "demo"))
    effective = roll.parse_date(str(data.get("effective_on") or dt.date.today().isoformat()))
    if effective is None:
        errors["effective_on"] = "a real date"
    bureau = None
    if data.get("bureau"):
        bureau = db.session.scalar(select(PollingStation).where(PollingStation.number == str(data["bureau"])))
        if bureau is None:
            errors["bureau"] = "no polling station with this number"
    if errors:
        return jsonify(error="Bad Request", status=400, fields=errors), 400
    duplicates = roll.same_identity_here(values["birth_name"], values["first_names"], birth)
    elsewhere = roll.registered_elsewhere_in_department(values["birth_name"], values["first_names"], birth,
                                                        _commune().insee)
    if (duplicates or elsewhere) and data.get("confirm_duplicate") is not True:
        db.session.commit()  # keeps the audit event of the lookup
        return jsonify(error="Conflict", status=409, duplicates=[d.id for d in duplicates],
                       registered_elsewhere_in_department=elsewhere,
                       message="Possible duplicate: send confirm_duplicate=true if it is another person."), 409
    try:
        v = roll.register(_commune().insee, values, reason, effective, note=str(data.get("note") or "")[:2000],
                          bureau=bureau, forced_bureau_reason=str(data.get("bureau_reason") or "")[:200])
    except roll.RollError as exc:
        db.session.rollback()
        return jsonify(error="Unprocessable", status=422, message=str(exc)), 422
    db.session.commit()
    return jsonify(voter_json(v, full=True)), 201


@api.get("/voters/<int:voter_id>")
def api_voter(voter_id: int):
    v = _voter_or_404(voter_id)
    audit.record("electoral.voter_viewed", target=v, via="api")
    db.session.commit()
    return jsonify(voter_json(v, full=True))


@api.get("/bureaux")
def api_bureaux():
    return jsonify(items=[{"id": b.id, "number": b.number, "name": b.name, "address": b.address,
                           "latitude": b.latitude, "longitude": b.longitude} for b in _bureaux()])


@api.get("/elections/<int:election_id>/calendar")
def api_calendar(election_id: int):
    e = db.session.get(Election, election_id)
    if e is None:
        abort(404)
    return jsonify(election={"id": e.id, "kind": e.kind, "title": e.title, "first_round": e.first_round.isoformat(),
                             "second_round": e.second_round.isoformat() if e.second_round else None},
                   deadlines=[{"date": d.day.isoformat(), "until": d.until.isoformat() if d.until else None,
                               "time": d.time or None, "label": str(d.label), "article": d.article}
                              for d in legal_calendar(e.kind, e.first_round, e.second_round)])


@api.errorhandler(404)
def _api_404(exc):
    return jsonify(error="Not Found", status=404), 404


def _register_openapi():
    from portal.api import register_paths

    ok = {"200": {"description": "OK"}, "403": {"description": "Not a commune, or missing permission"},
          "404": {"description": "Not found in the active commune"}}
    register_paths({
        "/electoral/voters": {"post": {"summary": "Register a voter (electoral.write); duplicates first: 409",
                                       "requestBody": {"content": {"application/json": {"schema": {
                                           "type": "object", "required": ["birth_name", "first_names", "sex",
                                                                          "birth_date"]}}}},
                                       "responses": {"201": {"description": "Registered"},
                                                     "400": {"description": "Invalid fields"},
                                                     "409": {"description": "Possible duplicate"},
                                                     "422": {"description": "Refused by a rule of the roll"}}},
                              "get": {"summary": "Search the voters of the active commune (electoral.read)",
                                      "parameters": [{"name": n, "in": "query", "required": False,
                                                      "schema": {"type": t}} for n, t in
                                                     (("q", "string"), ("bureau", "integer"), ("status", "string"),
                                                      ("limit", "integer"), ("offset", "integer"))],
                                      "responses": ok}},
        "/electoral/voters/{voter_id}": {"get": {"summary": "One voter with the history of movements",
                                                 "parameters": [{"name": "voter_id", "in": "path", "required": True,
                                                                 "schema": {"type": "integer"}}],
                                                 "responses": ok}},
        "/electoral/bureaux": {"get": {"summary": "Polling stations of the active commune", "responses": ok}},
        "/electoral/elections/{election_id}/calendar": {"get": {
            "summary": "Legal calendar of an election with the articles of the Code électoral",
            "parameters": [{"name": "election_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": ok}},
    })


_register_openapi()
