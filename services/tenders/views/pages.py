"""Pages of the tenders service for the collectivity's staff (behind the gate, at /s/tenders/): the wizard,
publication, correction notices, the end of a procedure, answers to questions and the award.

A little over 400 lines: each view is a few lines over ``operations`` and ``wizard``; the one blueprint of the staff pages keeps
the procedure's life in the order a secretary meets it, and moving one view elsewhere would only add an import."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.identity import local_wall, today as local_today
from portal.models import utcnow
from portal import audit
from portal.extensions import db
from portal.registry import requires
from portal.responses import csv_response
from portal.urls import absolute_url

from .. import (access, deposits, documents, ending, exchanges, notify, opendata, opening, rules, schemas, sealing,
               storage, wizard)
from ..access import child_or_404, owned_tenders, tender_or_404
from ..models import Tender, TenderAttachment, TenderQuestion
from ..operations import (add_attachment, apply_proposed_calendar, close_expired, create_draft, delete_draft,
                          extension_notice, publish_correction, record_award)
from . import PACKAGE_ROOT
from .downloads import open_data_response, send_attachment, send_dce, send_document

log = logging.getLogger(__name__)

bp = Blueprint("tenders", __name__, root_path=PACKAGE_ROOT, template_folder="templates",
               static_folder="static", static_url_path="/static/tenders")


@bp.get("/")
def index():
    close_expired()
    tenders = db.session.scalars(owned_tenders().order_by(Tender.updated_at.desc())).all()
    return render_template("tenders/index.html", tenders=tenders, wizard=wizard)


@bp.post("/nouveau")
@requires("tenders.write")
def create():
    t = create_draft(g.collectivity, current_user.id)
    db.session.commit()
    return redirect(url_for("tenders.step", tender_id=t.id, step=1))


def _editable(t: Tender):
    if not access.editable(t):
        flash(_("This consultation is published: it can no longer be changed."), "error")
        return False
    return True


@bp.route("/<int:tender_id>/etape/<int:step>", methods=["GET", "POST"])
def step(tender_id: int, step: int):
    t = tender_or_404(tender_id)
    if step not in wizard.STEPS:
        abort(404)
    errors: dict = {}
    if request.method == "GET" and not access.editable(t):
        flash(_("This consultation is published: it is read-only. Changes go through a correction notice."), "info")
        return redirect(url_for("tenders.summary", tender_id=t.id))
    if request.method == "POST":
        access.require("tenders.write")
        autosave = request.headers.get("X-Autosave") == "1"
        if not _editable(t):
            if autosave:
                return jsonify(saved=False), 409
            return redirect(url_for("tenders.summary", tender_id=t.id))
        if request.form.get("action") == "propose" and step == 4:
            apply_proposed_calendar(t)
            db.session.commit()
            return redirect(url_for("tenders.step", tender_id=t.id, step=4))
        errors = wizard.SAVERS[step](t, request.form)
        if step == 2 and not errors:  # the amount drives the procedure: recompute it at once
            wizard.save_step_3(t, {"voluntary": "1" if t.publicity == "voluntary" else ""})
        if not errors:
            t.step = max(t.step, min(step + 1, wizard.LAST_STEP))
        t.updated_at = utcnow()
        db.session.commit()
        if autosave:
            return jsonify(saved=True, errors=errors, at=local_wall(t.collectivity).strftime("%H:%M"))
        if not errors:
            if request.form.get("action") == "back" and step > 1:
                return redirect(url_for("tenders.step", tender_id=t.id, step=step - 1))
            if request.form.get("action") == "stay":
                flash(_("Saved."), "success")
                return redirect(url_for("tenders.step", tender_id=t.id, step=step))
            if step == wizard.LAST_STEP:
                return redirect(url_for("tenders.summary", tender_id=t.id))
            return redirect(url_for("tenders.step", tender_id=t.id, step=step + 1))
        flash(_("Please correct the fields marked in red."), "error")
    decision, problem = wizard.decision(t)
    return render_template(f"tenders/step{step}.html", t=t, step=step, steps=wizard.STEPS, errors=errors,
                           wizard=wizard, decision=decision, decision_problem=problem, form=request.form,
                           fmt_eur=rules.fmt_eur, thresholds=rules.load()[0],
                           docs=documents.all_docs(t) if step == 6 else [],
                           max_mb=storage.max_attachment() // (1024 * 1024)), (422 if errors else 200)


@bp.get("/seuils")
def thresholds():
    """Every threshold the rules engine knows, with its validity dates and its source (transparency)."""
    rows, deadlines = rules.load()
    return render_template("tenders/thresholds.html", rows=sorted(rows, key=lambda r: (r.rule, r.valid_from)),
                           deadlines=deadlines, fmt_eur=rules.fmt_eur, nature_label=rules.nature_label,
                           today=local_today())


@bp.get("/cpv")
def cpv():
    return jsonify([{"code": c["code"], "label": c["label"]} for c in wizard.cpv_search(request.args.get("q", ""))])


@bp.get("/<int:tender_id>/recapitulatif")
def summary(tender_id: int):
    close_expired()
    t = tender_or_404(tender_id)
    decision, problem = wizard.decision(t)
    questions = [q for q in t.questions]
    return render_template("tenders/summary.html", t=t, steps=wizard.STEPS, problems=wizard.problems(t),
                           decision=decision, decision_problem=problem, wizard=wizard, fmt_eur=rules.fmt_eur,
                           docs=documents.all_docs(t), questions=questions, ending=ending,
                           end_problem=ending.can_end(t), now=local_wall(t.collectivity))


@bp.post("/<int:tender_id>/publier")
@requires("tenders.publish")
def publish(tender_id: int):
    t = tender_or_404(tender_id)
    if not access.editable(t):
        flash(_("This consultation is already published."), "error")
        return redirect(url_for("tenders.summary", tender_id=t.id))
    if request.form.get("confirm") != "1":
        flash(_("Tick the box to confirm the publication."), "error")
        return redirect(url_for("tenders.summary", tender_id=t.id))
    if t.launch_date is None or t.launch_date < local_today(t.collectivity):
        # A draft resumed days later is published today: the thresholds of today apply.
        before = (t.procedure, t.publicity)
        t.launch_date = local_today(t.collectivity)
        wizard.save_step_3(t, {"voluntary": "1" if t.publicity == "voluntary" else ""})
        db.session.commit()
        if (t.procedure, t.publicity) != before:
            flash(_("The thresholds in force today change the procedure of this draft: check step 3 before "
                    "publishing."), "error")
            return redirect(url_for("tenders.step", tender_id=t.id, step=3))
    problems = wizard.problems(t)
    if problems:
        flash(_("The consultation cannot be published yet: see the points to fix below."), "error")
        log.info("tenders: publication of tender %s refused: %s", t.id, problems)
        return redirect(url_for("tenders.summary", tender_id=t.id))
    t.status = "published"
    t.published_at = local_wall(t.collectivity)
    storage.replace_dce(db.session, t, documents.dce_zip(t))
    audit.record("tenders.published", target=t, reference=t.reference)
    exchanges.alert_companies(t)
    db.session.commit()
    flash(_("The consultation is published on the public page."), "success")
    return redirect(url_for("tenders.summary", tender_id=t.id))


@bp.post("/<int:tender_id>/rectificatif")
@requires("tenders.publish")
def correct(tender_id: int):
    """Publish a correction notice (avis rectificatif) of an open consultation."""
    t = tender_or_404(tender_id)
    errors = publish_correction(t, request.form, current_user.id)
    if errors:
        for msg in errors.values():
            flash(msg, "error")
        return redirect(url_for("tenders.summary", tender_id=t.id) + "#correction")
    flash(_("The correction notice is published: the public page shows it with the history of the changes, and the "
            "documents carry the new values. If the notice was published in the BOAMP or a JAL, publish the "
            "correction there too."), "success")
    return redirect(url_for("tenders.summary", tender_id=t.id))


@bp.post("/<int:tender_id>/prolonger")
@requires("tenders.publish")
def extend(tender_id: int):
    """Push back the deadline for bids (a correction notice that moves the calendar by the same shift)."""
    t = tender_or_404(tender_id)
    back = redirect(url_for("tenders.summary", tender_id=t.id))
    if not t.is_open():
        flash(_("Only an open consultation can have its deadline extended."), "error")
        return back
    try:
        new = schemas.parse_datetime(request.form.get("reception_deadline", ""))
    except ValueError:
        new = None
    if new is None:
        flash(_("Enter the new deadline for bids."), "error")
        return back
    if new <= t.reception_deadline:
        flash(_("The new deadline must be later than the current one (%(d)s).",
                d=t.reception_deadline.strftime("%d/%m/%Y %H:%M")), "error")
        return back
    errors = publish_correction(t, extension_notice(t, new), current_user.id)
    if errors:
        for msg in errors.values():
            flash(msg, "error")
        return back
    flash(_("The deadline is extended; the public page and the documents show the new date. If the notice was "
            "published in the BOAMP or a JAL, publish a corrective notice there too."), "success")
    return back


@bp.post("/<int:tender_id>/fin")
@requires("tenders.publish")
def end(tender_id: int):
    """Declare the procedure unsuccessful (infructueuse) or discontinued (sans suite)."""
    t = tender_or_404(tender_id)
    errors = ending.end_procedure(t, request.form)
    if errors:
        db.session.rollback()
        log.info("tenders: end of tender %s refused: %s", t.id, errors)
        for msg in errors.values():
            flash(msg, "error")
        return redirect(url_for("tenders.summary", tender_id=t.id) + "#end")
    audit.record("tenders.ended", target=t, reference=t.reference, outcome=t.status, reason=t.end_reason,
                 ended_on=t.ended_on.isoformat())
    notify.ended_to_askers(t)
    db.session.commit()
    flash(_("The decision is published on the public page and in the open data. Tell the companies that sent a bid "
            "the reasons of the decision (article R2185-2); those that asked a question are told by e-mail."),
          "success")
    return redirect(url_for("tenders.summary", tender_id=t.id))


@bp.post("/<int:tender_id>/supprimer")
@requires("tenders.write")
def delete(tender_id: int):
    t = tender_or_404(tender_id)
    if not access.editable(t):
        flash(_("A published consultation cannot be deleted."), "error")
        return redirect(url_for("tenders.summary", tender_id=t.id))
    delete_draft(t)
    db.session.commit()
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("tenders.index"))


@bp.get("/<int:tender_id>/documents/<doc>.<fmt>")
def document(tender_id: int, doc: str, fmt: str):
    return send_document(tender_or_404(tender_id), doc, fmt)


@bp.get("/<int:tender_id>/dce.zip")
def dce(tender_id: int):
    return send_dce(tender_or_404(tender_id))


@bp.post("/<int:tender_id>/pieces")
@requires("tenders.write")
def upload(tender_id: int):
    t = tender_or_404(tender_id)
    if not _editable(t):
        return redirect(url_for("tenders.summary", tender_id=t.id))
    f = request.files.get("file")
    back = redirect(url_for("tenders.step", tender_id=t.id, step=6))
    if f is None or not f.filename:
        flash(_("Choose a file to add."), "error")
        return back
    problem = add_attachment(t, f.filename, f.read(storage.max_attachment() + 1))
    if problem:
        flash(problem, "error")
        return back
    db.session.commit()
    flash(_("The file is added to the consultation documents."), "success")
    return back


@bp.get("/<int:tender_id>/pieces/<int:attachment_id>")
def attachment(tender_id: int, attachment_id: int):
    t = tender_or_404(tender_id)
    return send_attachment(t, child_or_404(TenderAttachment, attachment_id, t))


@bp.post("/<int:tender_id>/pieces/<int:attachment_id>/supprimer")
@requires("tenders.write")
def delete_attachment(tender_id: int, attachment_id: int):
    t = tender_or_404(tender_id)
    a = child_or_404(TenderAttachment, attachment_id, t)
    if _editable(t):
        audit.record("tenders.attachment_deleted", target=t, filename=a.filename, sha256=a.sha256)
        storage.discard(db.session, a.storage_key)
        db.session.delete(a)
        db.session.commit()
        flash(_("The file is removed."), "success")
    return redirect(url_for("tenders.step", tender_id=t.id, step=6))


@bp.post("/<int:tender_id>/questions/<int:question_id>/reponse")
@requires("tenders.write")
def answer(tender_id: int, question_id: int):
    t = tender_or_404(tender_id)
    q = child_or_404(TenderQuestion, question_id, t)
    text = request.form.get("answer", "").strip()
    public_question = request.form.get("public_question", "").strip()
    if not public_question:
        flash(_("Keep the question as it will be published (without the name of the company)."), "error")
    elif not text:
        flash(_("Write the answer before publishing it."), "error")
    elif len(text) > 5000:
        flash(_("The answer is too long (5 000 characters at most)."), "error")
    else:
        q.answer = text
        q.public_question = public_question[:3000]
        q.answered_at = local_wall(t.collectivity)
        q.answered_by_id = current_user.id
        audit.record("tenders.question_answered", target=t, question=q.id)
        notify.answer_to_company(t, q)
        db.session.commit()
        flash(_("The answer is published to all companies, without the name of the person who asked."), "success")
    return redirect(url_for("tenders.summary", tender_id=t.id) + "#questions")


@bp.route("/<int:tender_id>/attribution", methods=["GET", "POST"])
def award(tender_id: int):
    t = tender_or_404(tender_id)
    errors = {}
    form = request.form
    if request.method == "POST":
        access.require("tenders.publish")
        if t.status not in ("published", "closed", "awarded"):
            flash(_("Only a published consultation can be awarded."), "error")
            return redirect(url_for("tenders.summary", tender_id=t.id))
        values, errors = schemas.award_form(form, {lot.number for lot in t.lots})
        if not errors:
            problem = record_award(t, values)
            if problem:
                db.session.rollback()
                flash(_("The open data could not be produced: %(error)s", error=problem), "error")
                return redirect(url_for("tenders.award", tender_id=tender_id))
            db.session.commit()
            flash(_("The award is recorded; its essential data (DECP) are on the public page."), "success")
            if not t.fully_awarded:
                flash(_("Record the winner of the other lots too."), "warning")
            return redirect(url_for("tenders.summary", tender_id=t.id))
        flash(_("Please correct the fields marked in red."), "error")
    lot = request.values.get("lot", "")
    current = t.award_of(int(lot)) if lot.isdigit() else (t.awards[0] if len(t.lots) <= 1 and t.awards else None)
    return render_template("tenders/award.html", t=t, errors=errors, form=form, current=current,
                           selected=lot or (str(t.lots[0].number) if t.lots else "1")), (422 if errors else 200)


@bp.get("/<int:tender_id>/decp.json")
def decp(tender_id: int):
    t = tender_or_404(tender_id)
    if not t.awards:
        abort(404)
    name = f"DECP-{t.reference}.json"
    return open_data_response(lambda: opendata.decp_document([t]), name, download_name=name)


@bp.get("/<int:tender_id>/ocds.json")
def ocds(tender_id: int):
    t = tender_or_404(tender_id)
    if t.status == "draft":
        abort(404)
    name = f"OCDS-{t.reference}.json"
    uri = absolute_url("tenders_public.ocds", tender_id=t.id)
    return open_data_response(lambda: opendata.ocds_package(t, uri), name, download_name=name)


@bp.get("/<int:tender_id>/depots")
def deposits_register(tender_id: int):
    """The register of deposits (registre des dépôts): who deposited, when (UTC and Paris), which files, their hash."""
    t = tender_or_404(tender_id)
    return render_template("tenders/register.html", t=t, bids=deposits.register_of(t), roles=deposits.ROLES,
                           steps=wizard.STEPS, opened=deposits.now_utc() >= deposits.deadline_utc(t),
                           opening=opening.opening_of(t))


@bp.get("/<int:tender_id>/depots/<int:bid_id>/fichiers/<int:file_id>")
@requires("tenders.open")
def bid_file(tender_id: int, bid_id: int, file_id: int):
    """A deposited file, decrypted — only after the deadline, for a holder of ``tenders.open``; audited."""
    t = tender_or_404(tender_id)
    bid = child_or_404(deposits.Bid, bid_id, t)
    f = db.session.get(deposits.BidFile, file_id)
    if f is None or f.bid_id != bid.id:
        abort(404)
    back = redirect(url_for("tenders.deposits_register", tender_id=t.id))
    try:
        data = deposits.open_for_staff(t, bid, f)
    except sealing.Sealed:
        flash(_("The bids stay sealed until the deadline (%(d)s): nobody can open them before.",
                d=t.reception_deadline.strftime("%d/%m/%Y %H:%M")), "error")
        return back
    except deposits.Eliminated:
        log.info("tenders: file %s of late deposit %s of tender %s not opened", f.id, bid.number, t.id)
        flash(_("This deposit arrived after the deadline: it is eliminated and is not opened (articles R2143-2 and "
                "R2151-5 of the public procurement code)."), "error")
        return back
    except sealing.Broken:
        db.session.commit()  # the audit event that flags the file
        flash(_("This file does not match the fingerprint recorded at its deposit: it is flagged in the journal."),
              "error")
        return back
    db.session.commit()
    return Response(data, mimetype=storage.mimetype(storage.extension(f.filename)), headers={
        "Content-Disposition": f'attachment; filename="{f.filename}"', "Cache-Control": "no-store"})


@bp.get("/<int:tender_id>/depots.csv")
def deposits_register_csv(tender_id: int):
    t = tender_or_404(tender_id)
    rows = [(b.number, b.company.name, b.company.siret, b.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
             b.received_paris.strftime("%d/%m/%Y %H:%M:%S"), b.state_fr,
             b.began_at.strftime("%Y-%m-%dT%H:%M:%SZ") if b.began_at else "",
             f.lot_number or "", f.role, f.filename, f.size, f.sha256) for b in deposits.register_of(t) for f in b.files]
    header = ("dépôt", "entreprise", "SIRET", "reçu (UTC)", f"reçu ({t.zone_label})", "état",
              "réception commencée (UTC)", "lot", "pièce", "fichier", "taille (octets)", "SHA-256")
    audit.record("tenders.register_downloaded", target=t, register="registre-depots", format="csv")
    db.session.commit()
    return csv_response(rows, f"registre-depots-{t.reference}.csv", header)
