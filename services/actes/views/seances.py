"""Pages of the séances (/s/actes/seances/…): the séance with its members, its délibérations and their votes, the
liste des délibérations (preview, publication within a week), the procès-verbal (upload, adoption, publication),
the registre des délibérations of a year (PDF); and on the commune's public page (/p/actes/<insee>/seances/…) the
published lists and procès-verbaux. The routes are added to the blueprints of ``pages`` and ``public``."""
from __future__ import annotations

import datetime as dt
import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.identity import today as local_today
from portal.extensions import db
from portal.lookups import public_commune
from portal.registry import requires
from portal.responses import pdf_response
from portal.filestore import StorageError
from portal.tenancy import owned_or_404

from .. import seances
from ..access import act_or_404
from ..models import Seance, SeanceItem
from ..schemas import STATUS_LABELS
from .pages import bp
from .public import public_bp

log = logging.getLogger(__name__)


def seance_or_404(seance_id: int) -> Seance:
    return owned_or_404(Seance, seance_id)


def _item_or_404(seance: Seance, item_id: int) -> SeanceItem:
    item = db.session.get(SeanceItem, item_id)
    if item is None or item.seance_id != seance.id:
        abort(404)
    return item


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if value and value.strip() else None
    except ValueError:
        return None


def _fields(form) -> seances.SeanceFields:
    raw = (form.get("members_in_office") or "").strip()
    return seances.SeanceFields(
        held_on=_date(form.get("held_on", "")), held_at=(form.get("held_at") or "").strip(),
        place=form.get("place") or "", members_in_office=int(raw) if raw.isdigit() else None,
        present=seances.names(form.get("present", "")), represented=seances.proxies(form.get("represented", "")),
        absent=seances.names(form.get("absent", "")), secretary=form.get("secretary") or "")


def _done(seance_id: int, action, message: str):
    try:
        action()
    except seances.SeanceRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("actes.seance", seance_id=seance_id))


@bp.route("/seances/")
def seances_index():
    rows = db.session.scalars(seances.seances_of(g.collectivity).limit(200)).all()
    return render_template("actes/seances.html", seances=rows, today=local_today(), is_late=seances.list_is_late,
                           year=local_today().year)


@bp.route("/seances/nouvelle", methods=["GET", "POST"])
@requires("actes.write")
def seance_new():
    return _edit(None)


@bp.route("/seances/<int:seance_id>/modifier", methods=["GET", "POST"])
@requires("actes.write")
def seance_edit(seance_id: int):
    return _edit(seance_or_404(seance_id))


def _edit(seance: Seance | None):
    values = request.form if request.method == "POST" else None
    if request.method == "POST":
        try:
            seance = seances.save_seance(g.collectivity, current_user, _fields(request.form), seance)
        except seances.SeanceRefused as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("actes/seance_form.html", seance=seance, values=values), 422
        db.session.commit()
        flash(_("Séance of %(d)s saved.", d=seance.held_on.strftime("%d/%m/%Y")), "success")
        return redirect(url_for("actes.seance", seance_id=seance.id))
    return render_template("actes/seance_form.html", seance=seance, values=values)


@bp.route("/seances/<int:seance_id>")
def seance(seance_id: int):
    s = seance_or_404(seance_id)
    return render_template("actes/seance.html", seance=s, candidates=seances.candidates(s),
                           later=seances.later_seances(s), late=seances.list_is_late(s), today=local_today(),
                           without_quorum=seances.without_quorum_before(s), rule=seances.convocation_rule(s.collectivity),
                           needed=seances.quorum_needed(s),
                           status_labels=STATUS_LABELS)


@bp.route("/seances/<int:seance_id>/supprimer", methods=["POST"])
@requires("actes.write")
def seance_delete(seance_id: int):
    s = seance_or_404(seance_id)
    try:
        seances.delete_seance(s, current_user)
    except seances.SeanceRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("actes.seance", seance_id=s.id))
    db.session.commit()
    flash(_("The séance is deleted."), "success")
    return redirect(url_for("actes.seances_index"))


@bp.route("/seances/<int:seance_id>/deliberations", methods=["POST"])
@requires("actes.write")
def seance_vote(seance_id: int):
    s = seance_or_404(seance_id)
    raw = request.form.get("act_id", "")
    if not raw.isdigit():
        flash(_("Choose the délibération."), "error")
        return redirect(url_for("actes.seance", seance_id=s.id))
    act = act_or_404(int(raw))
    return _done(s.id, lambda: seances.attach(s, act, seances.vote_from(request.form), current_user),
                 _("Vote of délibération %(n)s recorded.", n=act.number))


@bp.route("/seances/<int:seance_id>/deliberations/<int:item_id>/retirer", methods=["POST"])
@requires("actes.write")
def seance_detach(seance_id: int, item_id: int):
    s = seance_or_404(seance_id)
    item = _item_or_404(s, item_id)
    return _done(s.id, lambda: seances.detach(s, item, current_user), _("The délibération is taken out of the séance."))


@bp.route("/seances/<int:seance_id>/liste.pdf")
def seance_list_pdf(seance_id: int):
    s = seance_or_404(seance_id)
    name = f"liste-deliberations-{s.held_on.isoformat()}.pdf"
    if s.list_published_at is not None:
        try:
            return pdf_response(seances.published_list(s), name)
        except StorageError as exc:
            log.error("actes: published list of séance %s unreadable: %s", s.id, exc)
            abort(404)
    return pdf_response(seances.list_pdf(s), name)


@bp.route("/seances/<int:seance_id>/liste/publier", methods=["POST"])
@requires("actes.write")
def seance_publish_list(seance_id: int):
    s = seance_or_404(seance_id)
    return _done(s.id, lambda: seances.publish_list(s, current_user),
                 _("The liste des délibérations is published on the commune's public page."))


@bp.route("/seances/<int:seance_id>/proces-verbal", methods=["POST"])
@requires("actes.write")
def seance_pv_upload(seance_id: int):
    s = seance_or_404(seance_id)
    upload = request.files.get("document")
    data = upload.read() if upload and upload.filename else b""
    return _done(s.id, lambda: seances.upload_pv(s, current_user, data, upload.filename if upload else ""),
                 _("The procès-verbal is saved; it will be published once adopted."))


@bp.route("/seances/<int:seance_id>/proces-verbal.pdf")
def seance_pv_pdf(seance_id: int):
    s = seance_or_404(seance_id)
    if s.pv_key is None:
        abort(404)
    try:
        return pdf_response(seances.pv_data(s), f"proces-verbal-{s.held_on.isoformat()}.pdf")
    except StorageError as exc:
        log.error("actes: procès-verbal of séance %s unreadable: %s", s.id, exc)
        abort(404)


@bp.route("/seances/<int:seance_id>/proces-verbal/adoption", methods=["POST"])
@requires("actes.write")
def seance_pv_adopt(seance_id: int):
    s = seance_or_404(seance_id)
    raw = request.form.get("adopting_id", "")
    if not raw.isdigit():
        flash(_("Choose the séance that adopted the procès-verbal."), "error")
        return redirect(url_for("actes.seance", seance_id=s.id))
    adopting = seance_or_404(int(raw))
    return _done(s.id, lambda: seances.adopt_pv(s, adopting, current_user),
                 _("The procès-verbal is adopted and published on the commune's public page."))


@bp.route("/registre.pdf")
def registre():
    raw = request.args.get("annee", "")
    year = int(raw) if raw.isdigit() and 1990 <= int(raw) <= 2100 else local_today().year
    return pdf_response(seances.registre_pdf(g.collectivity, year),
                        f"registre-deliberations-{year}.pdf")


# Public page ---------------------------------------------------------------------------------------------------------

@public_bp.context_processor
def _public_seances():
    """``published_seances(commune)`` for the public page's include ``actes/_public_seances.html``."""
    def published_seances(commune):
        return db.session.scalars(seances.published_seances_of(commune).limit(100)).all()
    return {"published_seances": published_seances}


def _public_seance(coll, seance_id: int) -> Seance:
    s = db.session.scalar(seances.published_seances_of(coll).where(Seance.id == seance_id))
    if s is None:
        abort(404)
    return s


@public_bp.route("/<insee>/seances/<int:seance_id>/liste.pdf")
def public_list(insee: str, seance_id: int):
    with public_commune(insee, "actes") as coll:
        s = _public_seance(coll, seance_id)
        if s.list_published_at is None:
            abort(404)
        try:
            return pdf_response(seances.published_list(s), f"liste-deliberations-{s.held_on.isoformat()}.pdf")
        except StorageError:
            abort(404)


@public_bp.route("/<insee>/seances/<int:seance_id>/proces-verbal.pdf")
def public_pv(insee: str, seance_id: int):
    with public_commune(insee, "actes") as coll:
        s = _public_seance(coll, seance_id)
        if s.pv_published_at is None:
            abort(404)
        try:
            return pdf_response(seances.pv_data(s), f"proces-verbal-{s.held_on.isoformat()}.pdf")
        except StorageError:
            abort(404)



@bp.route("/seances/<int:seance_id>/convocation", methods=["POST"])
@requires("actes.write")
def seance_convene(seance_id: int):
    """Record the convocation: the order of the day, the day it is sent, a second convocation after a séance
    without quorum; the convocation PDF is kept as sent."""
    s = seance_or_404(seance_id)
    sent_on = _date(request.form.get("convened_on", ""))
    raw = request.form.get("second_of", "")
    first = owned_or_404(Seance, int(raw)) if raw.isdigit() else None
    if sent_on is None:
        flash(_("Give the date the convocation is sent."), "error")
        return redirect(url_for("actes.seance", seance_id=s.id))
    return _done(s.id, lambda: seances.convene(s, current_user, seances.names(request.form.get("agenda", "")),
                                               sent_on, second_of=first),
                 _("Convocation recorded; its PDF lists the order of the day."))


@bp.route("/seances/<int:seance_id>/convocation.pdf")
def seance_convocation_pdf(seance_id: int):
    s = seance_or_404(seance_id)
    if not s.convocation_key:
        abort(404)
    try:
        data = seances.convocation_data(s)
    except StorageError:
        log.exception("actes: convocation of séance %s unreadable", s.id)
        abort(404)
    return pdf_response(data, f"convocation-{s.held_on.isoformat()}.pdf")


@bp.route("/seances/<int:seance_id>/quorum", methods=["POST"])
@requires("actes.write")
def seance_quorum(seance_id: int):
    s = seance_or_404(seance_id)
    try:
        result = seances.check_quorum(s, current_user)
    except seances.SeanceRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(result.message, "success" if result.reached else "error")
    return redirect(url_for("actes.seance", seance_id=s.id))
