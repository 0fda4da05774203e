"""Staff pages about voters: search, the voter's page, registration, changes, removal and reinstatement, supporting
documents, young people reaching 18."""
from __future__ import annotations

import datetime as dt
import logging
import os

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.registry import requires

from .. import labels, roll
from ..access import justification_or_404, voter_or_404
from ..calendar import upcoming
from ..forms import JUSTIFICATION_TYPES, ChangeForm, RemoveForm, VoterForm
from ..models import (LISTS, Election, Movement, PollingStation, Procuration, format_address_line,
                      format_display_name, legal_sort_key)
from .common import bp, bureaux, commune, elections, frdate, justification_of, registered

log = logging.getLogger(__name__)


@bp.get("/")
def index():
    q = request.args.get("q", "")
    status = request.args.get("statut", "registered")
    status = status if status in ("registered", "removed") else "registered"
    bureau_id = request.args.get("bureau", type=int)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = roll.search_lines(q, bureau_id, status, limit=50, offset=(page - 1) * 50)
    if q:  # the searched text is a person's name: never in an event the department can read
        audit.record("electoral.voters_searched", target_type="Voter", results=total)
        db.session.commit()  # a GET: nothing else would commit it (the request's end rolls back what it wrote)
    today = local_today()
    demo = db.session.scalar(select(Movement.id).where(Movement.reason == "demo").limit(1)) is not None
    stations = bureaux()
    return render_template("electoral/index.html", demo=demo, voters=_roll_lines(rows, stations), total=total, q=q,
                           status=status, bureau_id=bureau_id, bureaux=stations, page=page,
                           pages=max((total + 49) // 50, 1), deadlines=upcoming(elections(), today), today=today)


def _roll_lines(rows, stations) -> list[tuple]:
    """The index's table, one tuple per voter: (link, name, birth date, address, bureau number, list labels) —
    formatted here in one pass over the rows (:data:`roll.LINE_COLUMNS`), so that the template only writes them
    out: the link is the route's prefix with the id appended (not a url_for per row), the bureau's number comes
    from the bureaux already read for the filter (the voter's bureau is one of the active commune's), the lists'
    labels are translated once per combination of lists."""
    prefix = url_for("electoral.voter", voter_id=0).removesuffix("0")
    numbers = {b.id: b.number for b in stations}
    list_labels: dict[tuple, tuple] = {}
    lines = []
    for (voter_id, birth_name, usage_name, first_names, birth_date, street_number, street_type, street_name,
         lieu_dit, complement1, complement2, bureau_id, on_general, on_eu, on_municipal) in rows:
        lists = (on_general, on_eu, on_municipal)
        labels_of = list_labels.get(lists)
        if labels_of is None:
            labels_of = list_labels[lists] = tuple(str(labels.LIST_LABELS[name])
                                                   for name, on in zip(LISTS, lists) if on)
        lines.append((f"{prefix}{voter_id}", format_display_name(birth_name, usage_name, first_names),
                      frdate(birth_date),
                      format_address_line(street_number, street_type, street_name, lieu_dit, complement1, complement2),
                      numbers.get(bureau_id, "—") if bureau_id else "—", labels_of))
    return lines


@bp.get("/electeurs/<int:voter_id>")
def voter(voter_id: int):
    v = voter_or_404(voter_id)
    audit.record("electoral.voter_viewed", target=v)
    db.session.commit()
    given = db.session.scalars(select(Procuration).where(Procuration.mandant_id == v.id)
                               .order_by(Procuration.valid_until.desc())).all()
    return render_template("electoral/voter.html", v=v, remove_form=RemoveForm(formdata=None),
                           removal_reasons=labels.REMOVAL_REASONS, reinstate_form=RemoveForm(formdata=None),
                           procurations=given)


def _voter_form_choices(form):
    form.bureau.choices = [(0, _("Proposed from the address"))] + [(b.id, b.label) for b in bureaux()]
    form.reason.choices = [(k, str(v)) for k, v in labels.CHOSEN_REGISTRATION_REASONS.items()]


@bp.route("/inscrire", methods=["GET", "POST"])
@requires("electoral.write")
def register():
    """Registration: duplicates in the commune and in the department are shown first; a bureau other than the one
    proposed from the address needs a reason."""
    form = VoterForm()
    _voter_form_choices(form)
    if request.method == "GET":
        form.effective_on.data = form.effective_on.data or local_today().strftime("%d/%m/%Y")
        postcodes = commune().postal_code_list
        if len(postcodes) == 1:  # one postcode: most new voters live at it (the secretary changes it if not)
            form.postal_code.data, form.city.data = postcodes[0], commune().name.upper()
    duplicates, elsewhere, proposed = [], False, None
    if form.validate_on_submit():
        data = form.values()
        duplicates = roll.same_identity_here(data["birth_name"], data["first_names"], data["birth_date"])
        elsewhere = roll.registered_elsewhere_in_department(data["birth_name"], data["first_names"],
                                                            data["birth_date"], commune().insee)
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
                v = roll.register(commune().insee, data, form.reason.data, roll.parse_date(form.effective_on.data),
                                  note=form.note.data or "", bureau=chosen, forced_bureau_reason=form.bureau_reason.data,
                                  **justification_of(form))
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
    v = voter_or_404(voter_id)
    form = ChangeForm(obj=None if request.method == "POST" else v)
    _voter_form_choices(form)
    form.kind.choices = [(k, str(labels.MOVEMENT_KINDS[k])) for k in ("address", "bureau", "civil_status")]
    form.reason.choices = [("declared", _("Declared by the voter")), ("insee", _("Notified by INSEE")),
                           ("correction", _("Correction of an error"))]
    if request.method == "GET":
        form.birth_date.data = v.birth_date.strftime("%d/%m/%Y")
        form.effective_on.data = local_today().strftime("%d/%m/%Y")
        form.bureau.data = v.bureau_id or 0
    if form.validate_on_submit():
        chosen = db.session.get(PollingStation, form.bureau.data) if form.bureau.data else None
        try:
            m = roll.update(v, form.values(), form.kind.data, form.reason.data,
                            roll.parse_date(form.effective_on.data), note=form.note.data or "", bureau=chosen,
                            **justification_of(form))
        except roll.RollError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The change is recorded in the history.") if m else _("Nothing changed."), "success")
            return redirect(url_for("electoral.voter", voter_id=v.id))
    return render_template("electoral/change.html", form=form, v=v)


def _movement(voter_id: int, reasons: dict, apply, done_message: str, what: str):
    """The removal and reinstatement forms: a reason, an effective date, a note and an optional supporting document;
    the roll's refusal (a RollError) is shown in French and nothing is written."""
    v = voter_or_404(voter_id)
    form = RemoveForm()
    form.reason.choices = [(k, str(x)) for k, x in reasons.items()]
    if form.validate_on_submit():
        try:
            apply(v, form.reason.data, roll.parse_date(form.effective_on.data), note=form.note.data or "",
                  **justification_of(form))
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
    return _movement(voter_id, labels.CHOSEN_REMOVAL_REASONS, roll.remove, _("%(name)s is removed from the roll."),
                     "removal")


@bp.post("/electeurs/<int:voter_id>/reinscrire")
@requires("electoral.write")
def reinstate(voter_id: int):
    return _movement(voter_id, labels.REINSTATEMENT_REASONS, roll.reinstate, _("%(name)s is back on the roll."),
                     "reinstatement")


@bp.get("/mouvements/<int:movement_id>/justificatif")
def justification(movement_id: int):
    m = justification_or_404(movement_id)
    audit.record("electoral.justification_read", target=m, voter=m.voter_id)
    db.session.commit()
    ext = os.path.splitext(m.justification_name)[1].lower()
    safe = "".join(ch for ch in m.justification_name if ch.isalnum() or ch in "._-") or "justificatif"
    return Response(m.justification, mimetype=JUSTIFICATION_TYPES.get(ext, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})


@bp.get("/jeunes")
def young():
    """People reaching 18 before the next election: INSEE registers them d'office; the commune checks."""
    today = local_today()
    nxt = db.session.scalars(select(Election).where(Election.first_round >= today)
                             .order_by(Election.first_round)).first()
    limit = nxt.first_round if nxt else today + dt.timedelta(days=365)
    voters = [v for v in registered() if v.age_on(limit) >= 18 and v.age_on(today - dt.timedelta(days=365)) < 18]
    audit.record("electoral.young_listed", target_type="Voter", voters=len(voters))
    db.session.commit()
    return render_template("electoral/young.html", voters=sorted(voters, key=legal_sort_key), election=nxt,
                           limit=limit)
