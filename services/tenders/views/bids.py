"""Staff pages of the bids (on the ``tenders`` blueprint, /s/tenders/): the registers of deposits and withdrawals as
PDF, the opening and its minutes (PV d'ouverture), the analysis of the offers and the decision (see
:mod:`services.tenders.opening` and :mod:`services.tenders.analysis`)."""
from __future__ import annotations

import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.registry import requires
from portal.responses import pdf_response

from .. import access, deposits, documents, exchanges, opening, rules, sealing, storage, wizard
from .. import analysis as analysis_mod
from ..access import child_or_404, tender_or_404
from .pages import bp

log = logging.getLogger(__name__)


def _pdf(t, doc: documents.Doc):
    """A generated document of the bids (registers, minutes, letters), its download audited."""
    data = documents.render(doc, "pdf")
    audit.record("tenders.register_downloaded", target=t, register=doc.code, format="pdf")
    db.session.commit()
    return pdf_response(data, f"{doc.filename}.pdf")


@bp.get("/<int:tender_id>/depots.pdf")
def deposits_register_pdf(tender_id: int):
    t = tender_or_404(tender_id)
    return _pdf(t, opening.deposits_register_doc(t))


@bp.get("/<int:tender_id>/retraits")
def withdrawals_register(tender_id: int):
    """The register of withdrawals (registre des retraits): who downloaded which document of the DCE, when."""
    t = tender_or_404(tender_id)
    return render_template("tenders/withdrawals.html", t=t, rows=opening.withdrawals_of(t), what=opening.WHAT_FR,
                           steps=wizard.STEPS)


@bp.get("/<int:tender_id>/retraits.pdf")
def withdrawals_register_pdf(tender_id: int):
    t = tender_or_404(tender_id)
    return _pdf(t, opening.withdrawals_register_doc(t))


@bp.post("/<int:tender_id>/ouverture")
@requires("tenders.open")
def open_bids(tender_id: int):
    """Open the bids after the deadline: decrypt, check each file against its fingerprint, write the PV."""
    t = tender_or_404(tender_id)
    back = redirect(url_for("tenders.deposits_register", tender_id=t.id))
    if t.status == "draft" or t.reception_deadline is None:
        abort(404)
    try:
        result = opening.open_bids(t, current_user)
    except (opening.NotYet, sealing.Sealed):
        flash(_("The bids stay sealed until the deadline (%(d)s): nobody can open them before.",
                d=t.reception_deadline.strftime("%d/%m/%Y %H:%M")), "error")
        return back
    db.session.commit()
    flagged = sum(1 for b in opening.valid_bids(t) for f in b.files if f.check == "broken")
    log.info("tenders: bids of tender %s opened (%d flagged files)", t.id, flagged)
    if flagged:
        flash(_("The bids are open. %(n)d file(s) do not match the fingerprint recorded at their deposit: they are "
                "flagged in the minutes and in the journal.", n=flagged), "warning")
    else:
        flash(_("The bids are open; every file matches its fingerprint. The minutes of the opening are ready."),
              "success")
    del result
    return back


@bp.get("/<int:tender_id>/pv-ouverture.pdf")
def opening_minutes(tender_id: int):
    t = tender_or_404(tender_id)
    done = opening.opening_of(t)
    if done is None:
        abort(404)
    return _pdf(t, opening.pv_doc(t, done))


# Analysis and decision --------------------------------------------------------------------------------------------

def _opened_or_back(t):
    """The opening of the consultation, or None (with a message) when the bids are not opened yet."""
    done = opening.opening_of(t)
    if done is None:
        flash(_("Open the bids first (register of deposits)."), "error")
    return done


def _lot(t, lot_number: int):
    lot = next((lot for lot in t.lots if lot.number == lot_number), None)
    if lot is None:
        abort(404)
    return lot


@bp.get("/<int:tender_id>/analyse")
def analysis(tender_id: int):
    t = tender_or_404(tender_id)
    if not t.lots:
        abort(404)
    return redirect(url_for("tenders.analysis_lot", tender_id=t.id, lot_number=t.lots[0].number))


@bp.route("/<int:tender_id>/analyse/<int:lot_number>", methods=["GET", "POST"])
def analysis_lot(tender_id: int, lot_number: int):
    """The scoring grid of a lot: prices, the formula of the price, points and comments of the other criteria."""
    t = tender_or_404(tender_id)
    lot = _lot(t, lot_number)
    if _opened_or_back(t) is None:
        return redirect(url_for("tenders.deposits_register", tender_id=t.id))
    bids = [b for b in opening.valid_bids(t) if b.covers(lot.number)]  # the offers made for this lot
    errors: dict = {}
    decided = analysis_mod.decision_of(t, lot.number)
    if request.method == "POST":
        access.require("tenders.write")
        if decided is not None:
            flash(_("This lot is awarded: its grid can no longer be changed."), "error")
            return redirect(url_for("tenders.analysis_lot", tender_id=t.id, lot_number=lot.number))
        errors = analysis_mod.save_marks(t, lot.number, bids, request.form)
        if errors:
            db.session.rollback()
            flash(_("Please correct the fields marked in red."), "error")
        else:
            audit.record("tenders.scored", target=t, lot=lot.number, offers=len(bids))
            db.session.commit()
            flash(_("The grid is saved."), "success")
            return redirect(url_for("tenders.analysis_lot", tender_id=t.id, lot_number=lot.number))
    rows = analysis_mod.grid(t, lot.number, bids)
    marks = {m.bid_id: m for m in db.session.scalars(select(analysis_mod.Mark).where(
        analysis_mod.Mark.tender_id == t.id, analysis_mod.Mark.lot_number == lot.number))}
    return render_template("tenders/analysis.html", t=t, lot=lot, bids=bids, rows=rows, marks=marks,
                           errors=errors, form=request.form, formulas=analysis_mod.FORMULAS,
                           formula=analysis_mod.formula_of(t, lot.number), price_code=analysis_mod.price_code(t),
                           criterion=documents.criterion_fr, decided=decided, steps=wizard.STEPS,
                           notify_from=analysis_mod.notify_from(t, decided, len(rows)) if decided else None,
                           standstill=analysis_mod.standstill(t, len(rows)), fmt_eur=rules.fmt_eur, pts=analysis_mod.pts,
                           today=local_today(t.collectivity)), (422 if errors else 200)


@bp.get("/<int:tender_id>/rapport-analyse.<fmt>")
def analysis_report(tender_id: int, fmt: str):
    t = tender_or_404(tender_id)
    if fmt not in documents.FORMATS or opening.opening_of(t) is None:
        abort(404)
    doc = analysis_mod.report_doc(t, opening.valid_bids(t))
    data = documents.render(doc, fmt)
    audit.record("tenders.register_downloaded", target=t, register=doc.code, format=fmt)
    db.session.commit()
    return Response(data, mimetype=documents.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}.{fmt}"', "Cache-Control": "no-store"})


@bp.post("/<int:tender_id>/analyse/<int:lot_number>/decision")
@requires("tenders.publish")
def decide(tender_id: int, lot_number: int):
    """Award the lot to the first-ranked offer; the rejected candidates get their letter."""
    t = tender_or_404(tender_id)
    lot = _lot(t, lot_number)
    back = redirect(url_for("tenders.analysis_lot", tender_id=t.id, lot_number=lot.number))
    if _opened_or_back(t) is None:
        return back
    try:
        d = analysis_mod.decide(t, lot, opening.valid_bids(t), current_user.id)
    except analysis_mod.Refused as exc:
        db.session.rollback()
        log.info("tenders: decision on tender %s lot %s refused: %s", t.id, lot.number, exc)
        flash(str(exc.message), "error")
        return back
    db.session.commit()
    if d.notified_on:
        flash(_("The lot is awarded: the rejected candidates and the winner are informed by e-mail; the award is "
                "in the open data."), "success")
    else:
        flash(_("The lot is awarded and the rejected candidates are informed. Notify the winner after the "
                "standstill period, from %(d)s.", d=analysis_mod.notify_from(t, d).strftime("%d/%m/%Y")), "success")
    return back


@bp.post("/<int:tender_id>/analyse/<int:lot_number>/notification")
@requires("tenders.publish")
def notify_winner(tender_id: int, lot_number: int):
    t = tender_or_404(tender_id)
    lot = _lot(t, lot_number)
    back = redirect(url_for("tenders.analysis_lot", tender_id=t.id, lot_number=lot.number))
    try:
        analysis_mod.notify_winner(t, lot, opening.valid_bids(t))
    except analysis_mod.Refused as exc:
        db.session.rollback()
        log.info("tenders: notification on tender %s lot %s refused: %s", t.id, lot.number, exc)
        flash(str(exc.message), "error")
        return back
    db.session.commit()
    flash(_("The winner is notified by e-mail; the award is in the open data."), "success")
    return back


@bp.get("/<int:tender_id>/courriers/<int:lot_number>/<int:bid_id>.pdf")
def letter(tender_id: int, lot_number: int, bid_id: int):
    """A letter of the decision (rejection or notification) as the company receives it."""
    t = tender_or_404(tender_id)
    lot = _lot(t, lot_number)
    bid = child_or_404(deposits.Bid, bid_id, t)
    doc = analysis_mod.letter_for(t, lot, bid, opening.valid_bids(t))
    if doc is None:
        abort(404)
    return _pdf(t, doc)


@bp.get("/<int:tender_id>/avis-attribution.pdf")
def award_notice(tender_id: int):
    t = tender_or_404(tender_id)
    bids = opening.valid_bids(t)
    winners = []
    for lot in t.lots:
        d = analysis_mod.decision_of(t, lot.number)
        if d is None or d.notified_on is None:
            continue
        rows = analysis_mod.grid(t, lot.number, bids)
        winners.append((lot, next(r for r in rows if r.bid.id == d.winner_bid_id), len(rows)))
    if not winners:
        abort(404)
    return _pdf(t, analysis_mod.award_notice_doc(t, winners))


# Secure exchanges with one candidate -------------------------------------------------------------------------------

@bp.route("/<int:tender_id>/echanges", methods=["GET", "POST"])
def exchanges_page(tender_id: int):
    """Requests for clarification or missing documents to one candidate, with a reply deadline; their replies."""
    t = tender_or_404(tender_id)
    if _opened_or_back(t) is None:
        return redirect(url_for("tenders.deposits_register", tender_id=t.id))
    bids = opening.valid_bids(t)
    errors: dict = {}
    if request.method == "POST":
        access.require("tenders.write")
        bid_id = request.form.get("bid", "")
        bid = next((b for b in bids if str(b.id) == bid_id), None)
        if bid is None:
            errors["bid"] = _("Choose the candidate.")
        else:
            _ex, errors = exchanges.ask(t, bid, request.form, current_user.id)
        if not errors:
            db.session.commit()
            flash(_("The request is sent to the company by e-mail; its answer will appear here."), "success")
            return redirect(url_for("tenders.exchanges_page", tender_id=t.id))
        db.session.rollback()
        flash(_("Please correct the fields marked in red."), "error")
    return render_template("tenders/exchanges.html", t=t, bids=bids, rows=exchanges.exchanges_of(t),
                           kinds=exchanges.KINDS, errors=errors, form=request.form, steps=wizard.STEPS), (
        422 if errors else 200)


@bp.get("/<int:tender_id>/echanges/<int:exchange_id>/fichier")
def exchange_file(tender_id: int, exchange_id: int):
    t = tender_or_404(tender_id)
    ex = child_or_404(exchanges.Exchange, exchange_id, t)
    if not ex.reply_key:
        abort(404)
    try:
        data = storage.read(ex.reply_key, ex.reply_sha256, ex.reply_size)
    except storage.StorageError as exc:
        log.error("tenders: reply file of exchange %s cannot be served: %s", ex.id, exc)
        abort(410)
    audit.record("tenders.register_downloaded", target=t, register="echange", format=storage.extension(
        ex.reply_filename))
    db.session.commit()
    return Response(data, mimetype=storage.mimetype(storage.extension(ex.reply_filename)), headers={
        "Content-Disposition": f'attachment; filename="{ex.reply_filename}"', "Cache-Control": "no-store"})
