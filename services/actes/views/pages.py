"""Pages of the mairie (or EPCI) staff: the list of acts, the deposit with its pre-flight checks, the follow-up page
of an act (statuses, AR, replies of the préfecture), and the actions send, retry, cancel, answer."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_

from portal.extensions import db
from portal.registry import requires
from portal.responses import csv_response, pdf_response
from portal.tenancy import owned_or_404
from portal.uploads import UploadRejected, check_upload

from . import SERVICE_ROOT
from .. import ocr, operations, seances, signature, transmission
from ..access import act_or_404, file_or_404, owned_acts, reply_or_404
from ..checks import MAX_TOTAL
from ..models import Act, Seance
from ..publication import scdl_csv
from ..schemas import (ANSWER_LABELS, DEFAULT_PIECE_TYPES, NATURE_LABELS, PUBLICATION_LABELS, REPLY_LABELS,
                       STATUS_LABELS, DepositForm, deposit_from)
from ..storage import StorageError

log = logging.getLogger(__name__)

bp = Blueprint("actes", __name__, template_folder="templates", root_path=SERVICE_ROOT)

PAGE_SIZE = 50


def _labels() -> dict:
    return {"status_labels": STATUS_LABELS, "nature_labels": NATURE_LABELS, "reply_labels": REPLY_LABELS,
            "publication_labels": PUBLICATION_LABELS, "answer_labels": ANSWER_LABELS}


@bp.route("/")
def index():
    q = (request.args.get("q") or "").strip()
    status = request.args.get("statut") or ""
    stmt = owned_acts()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Act.number.ilike(like), Act.subject.ilike(like), Act.matiere.like(f"{q}%")))
    if status in STATUS_LABELS:
        stmt = stmt.where(Act.status == status)
    # The page's ids in a subquery (services/actes/README.md, "Performance"), read from the covering index
    # ix_actes_act_list alone — row-level security's filter and the search are evaluated on index entries, and the
    # ordered walk stops at the 50th match instead of filtering and sorting every act of the collectivity — then
    # those 50 acts, in the same statement.
    order = (Act.decision_date.desc(), Act.id.desc())
    page_ids = stmt.with_only_columns(Act.id).order_by(*order).limit(PAGE_SIZE)
    acts = db.session.scalars(owned_acts().where(Act.id.in_(page_ids)).order_by(*order)).all()
    return render_template("actes/index.html", acts=acts, q=q, status=status, **_labels())


@bp.route("/nouveau", methods=["GET", "POST"])
@requires("actes.write")
def deposit():
    coll = g.collectivity
    form = DepositForm()
    nom, version, _theirs = operations.nomenclature(operations.prefecture_of(coll))
    report = None
    raw_seance = (request.form.get("seance_id") if request.method == "POST" else request.args.get("seance")) or ""
    seance = owned_or_404(Seance, int(raw_seance)) if raw_seance.isdigit() else None
    seance_error = None
    if request.method == "POST" and form.validate_on_submit():
        d, extra = deposit_from(request.form, request.files.get("act"), request.files.getlist("annexes"))
        try:
            vote = seances.vote_from(request.form) if seance is not None else None
            if seance is not None:
                seances.check_vote(seance, vote)
                extra.session_date = seance.held_on
        except seances.SeanceRefused as exc:
            seance_error = str(exc)
        else:
            act, report = operations.create_draft(coll, current_user, d, extra)
            if act is not None:
                try:
                    if seance is not None:
                        seances.attach(seance, act, vote, current_user)
                except seances.SeanceRefused as exc:
                    seance_error, report = str(exc), None
                else:
                    db.session.commit()
                    for w in report.warnings:
                        flash(w.message, "warning")
                    flash(_("Act %(number)s saved as a draft.", number=act.number), "success")
                    return redirect(url_for("actes.detail", act_id=act.id))
        db.session.rollback()
    elif request.method == "GET":
        form.act_piece_type.data = DEFAULT_PIECE_TYPES[1]
        if seance is not None:
            form.nature.data, form.decision_date.data, form.session_date.data = 1, seance.held_on, seance.held_on
    if seance_error:
        flash(seance_error, "error")
    db.session.commit()  # the default classification, when loaded for the first time
    open_seances = db.session.scalars(seances.seances_of(coll).where(Seance.list_published_at.is_(None))
                                      .limit(50)).all()
    return render_template("actes/deposit.html", form=form, report=report, matieres=nom.matieres,
                           classification_date=version, piece_types=DEFAULT_PIECE_TYPES, seance=seance,
                           open_seances=open_seances, vote_values=request.form if request.method == "POST" else None,
                           **_labels()), (422 if report is not None or seance_error else 200)


@bp.route("/matieres")
def matieres():
    """The matière picker's search (code or words, accents ignored)."""
    nom, _version, _theirs = operations.nomenclature(operations.prefecture_of(g.collectivity))
    return jsonify([{"code": c, "label": lbl} for c, lbl in nom.search(request.args.get("q", ""))])


@bp.route("/<int:act_id>")
def detail(act_id: int):
    act = act_or_404(act_id)
    kept = signature.stored_certificate(act, current_user) if "actes.sign" in g.permissions else None
    return render_template("actes/detail.html", act=act, kept_certificate=kept, seance_item=seances.item_of(act),
                           answers_for=transmission.ANSWERS_FOR,
                           ocr_can_ask=ocr.can_ask(act), ocr_pending=ocr.pending(act), ocr_failure=ocr.failure(act),
                           **_labels())


def _act_action(act_id: int, action, done: str):
    act = act_or_404(act_id)
    try:
        action(act)
    except transmission.ActionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("actes.detail", act_id=act_id))


@bp.route("/<int:act_id>/envoyer", methods=["POST"])
@requires("actes.send")
def send(act_id: int):
    return _act_action(act_id, lambda a: transmission.submit(a, current_user),
                       _("The act is being sent to the préfecture."))


@bp.route("/<int:act_id>/visa", methods=["POST"])
@requires("actes.write")
def visa(act_id: int):
    return _act_action(act_id, lambda a: signature.give_visa(a, current_user), _("The act is approved (visa)."))


@bp.route("/<int:act_id>/signer", methods=["POST"])
@requires("actes.sign")
def sign(act_id: int):
    upload = request.files.get("certificate")
    pkcs12 = upload.read() if upload and upload.filename else None
    return _act_action(act_id, lambda a: signature.sign(a, current_user, request.form.get("passphrase", ""), pkcs12),
                       _("The act is signed."))


@bp.route("/<int:act_id>/ocr", methods=["POST"])
@requires("actes.write")
def ocr_request(act_id: int):
    act = act_or_404(act_id)
    try:
        ocr.request(act, current_user)
    except ocr.OcrRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The text recognition is running; the searchable PDF will replace the scan in a few minutes."),
              "success")
    return redirect(url_for("actes.detail", act_id=act_id))


@bp.route("/<int:act_id>/renvoyer", methods=["POST"])
@requires("actes.send")
def retry(act_id: int):
    return _act_action(act_id, lambda a: transmission.retry(a, current_user), _("The act is being sent again."))


@bp.route("/<int:act_id>/annuler", methods=["POST"])
@requires("actes.send")
def cancel(act_id: int):
    return _act_action(act_id, lambda a: transmission.cancel(a, current_user),
                       _("The transmission is cancelled."))


@bp.route("/<int:act_id>/reponses/<int:reply_id>", methods=["POST"])
@requires("actes.send")
def answer(act_id: int, reply_id: int):
    act = act_or_404(act_id)
    reply = reply_or_404(act, reply_id)
    upload = request.files.get("document")
    data = upload.read() if upload and upload.filename else b""
    pieces, total = [], len(data)
    try:
        check_upload(data, upload.filename if upload else "", allowed={"pdf"}, max_bytes=MAX_TOTAL)
        for f in request.files.getlist("pieces"):
            if f and f.filename:
                content = f.read()
                total += len(content)
                check_upload(content, f.filename, allowed={"pdf", "jpeg", "png"}, max_bytes=MAX_TOTAL)
                pieces.append((f.filename, content))
        if total > MAX_TOTAL:
            raise UploadRejected(_("The answer and its documents weigh more than the 150 MB the préfecture takes."),
                                 f"answer of {total} bytes over {MAX_TOTAL}")
    except UploadRejected as exc:
        log.info("actes: answer to letter %s refused: %s", reply.id, exc.reason_en)
        flash(_("Answer: %(reason)s", reason=exc.message_fr), "error")
        return redirect(url_for("actes.detail", act_id=act.id))
    return _act_action(act_id, lambda a: transmission.answer_reply(reply, current_user, request.form.get("kind", ""),
                                                                   data, upload.filename, pieces=pieces,
                                                                   note=request.form.get("note", "")),
                       _("The answer is sent to the préfecture."))


@bp.route("/<int:act_id>/fichiers/<int:file_id>")
def download(act_id: int, file_id: int):
    act = act_or_404(act_id)
    f = file_or_404(act, file_id)
    try:
        data = operations.read_file(f)
    except StorageError:
        flash(_("This file cannot be read; the department's team has been told."), "error")
        return redirect(url_for("actes.detail", act_id=act.id))
    name = f"acte-{act.number}-{f.role}-{f.id}"
    if f.mimetype == "application/pdf":
        return pdf_response(data, name + ".pdf")
    return data, 200, {"Content-Type": f.mimetype, "Content-Disposition": f'attachment; filename="{name}"',
                       "Cache-Control": "no-store"}


@bp.route("/deliberations.csv")
def scdl_export():
    return csv_response((), "deliberations.csv", text=scdl_csv(g.collectivity, published_only=False))
