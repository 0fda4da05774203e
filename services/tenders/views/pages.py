"""Pages of the tenders service for the collectivity's staff (behind the gate, at /s/tenders/)."""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.registry import requires

from . import documents, ending, notify, opendata, rules, storage, wizard
from .access import child_or_404, owned_tenders, tender_or_404
from .models import Tender, TenderAttachment, TenderAward, TenderQuestion

log = logging.getLogger(__name__)

bp = Blueprint("tenders", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/tenders")



def close_expired(now: dt.datetime | None = None) -> int:
    """Published consultations whose deadline has passed become closed (called by pages and by the Celery task)."""
    now = now or dt.datetime.now()
    expired = db.session.scalars(select(Tender).where(Tender.status == "published",
                                                      Tender.reception_deadline <= now)).all()
    for t in expired:
        t.status = "closed"
        audit.record("tenders.closed", target=t, collectivity=t.collectivity, user=None, reference=t.reference)
    if expired:
        db.session.commit()
        log.info("tenders: %d consultation(s) closed at their deadline", len(expired))
    return len(expired)


def next_reference() -> str:
    year = dt.date.today().year
    count = db.session.scalar(select(func.count()).select_from(owned_tenders().subquery())) or 0
    return f"{year}-{count + 1:03d}"


@bp.get("/")
def index():
    close_expired()
    tenders = db.session.scalars(owned_tenders().order_by(Tender.updated_at.desc())).all()
    return render_template("tenders/index.html", tenders=tenders, wizard=wizard)


@bp.post("/nouveau")
@requires("tenders.write")
def create():
    ref = next_reference()
    while db.session.scalar(owned_tenders().where(Tender.reference == ref)):
        y, n = ref.split("-")
        ref = f"{y}-{int(n) + 1:03d}"
    t = Tender(collectivity_id=g.collectivity.id, reference=ref, created_by_id=current_user.id,
               launch_date=dt.date.today(), contact_email=g.collectivity.email or "")
    db.session.add(t)
    db.session.flush()
    audit.record("tenders.created", target=t, reference=ref)
    db.session.commit()
    return redirect(url_for("tenders.step", tender_id=t.id, step=1))


def _editable(t: Tender):
    if t.status != "draft":
        flash(_("This consultation is published: it can no longer be changed."), "error")
        return False
    return True


@bp.route("/<int:tender_id>/etape/<int:step>", methods=["GET", "POST"])
def step(tender_id: int, step: int):
    t = tender_or_404(tender_id)
    if step not in wizard.STEPS:
        abort(404)
    errors: dict = {}
    if request.method == "POST":
        if "tenders.write" not in g.permissions:
            abort(403)
        autosave = request.headers.get("X-Autosave") == "1"
        if not _editable(t):
            if autosave:
                return jsonify(saved=False), 409
            return redirect(url_for("tenders.summary", tender_id=t.id))
        if request.form.get("action") == "propose" and step == 4:
            for k, v in wizard.propose_calendar(t).items():
                setattr(t, k, v)
            t.media = [m for m, v in wizard.media_advice(t).items() if v in ("required", "required_one")]
            if "required_one" in wizard.media_advice(t).values():
                t.media = [m for m in t.media if m != "jal"]
            t.media.append("portal")
            db.session.commit()
            return redirect(url_for("tenders.step", tender_id=t.id, step=4))
        errors = wizard.SAVERS[step](t, request.form)
        if step == 2 and not errors:  # the amount drives the procedure: recompute it at once
            wizard.save_step_3(t, {"voluntary": "1" if t.publicity == "voluntary" else ""})
        if not errors:
            t.step = max(t.step, min(step + 1, wizard.LAST_STEP))
        t.updated_at = dt.datetime.now()
        db.session.commit()
        if autosave:
            return jsonify(saved=True, errors=errors, at=dt.datetime.now().strftime("%H:%M"))
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
                           today=dt.date.today())


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
                           end_problem=ending.can_end(t), now=dt.datetime.now())


@bp.post("/<int:tender_id>/publier")
@requires("tenders.publish")
def publish(tender_id: int):
    t = tender_or_404(tender_id)
    if t.status != "draft":
        flash(_("This consultation is already published."), "error")
        return redirect(url_for("tenders.summary", tender_id=t.id))
    if t.launch_date is None or t.launch_date < dt.date.today():
        # A draft resumed days later is published today: the thresholds of today apply.
        before = (t.procedure, t.publicity)
        t.launch_date = dt.date.today()
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
    t.published_at = dt.datetime.now()
    storage.replace_dce(db.session, t, documents.dce_zip(t))
    audit.record("tenders.published", target=t, reference=t.reference)
    db.session.commit()
    flash(_("The consultation is published on the public page."), "success")
    return redirect(url_for("tenders.summary", tender_id=t.id))


def _publish_correction(t: Tender, form) -> dict:
    """Apply a correction notice (ending.correct), rebuild the DCE and audit it; {} or the French errors."""
    c, errors = ending.correct(t, form, current_user.id)
    if errors:
        log.info("tenders: correction of tender %s refused: %s", t.id, errors)
        return errors
    db.session.flush()
    # the RC, the notice and the new « avis rectificatif » state the new values
    storage.replace_dce(db.session, t, documents.dce_zip(t))
    audit.record("tenders.corrected", target=t, reference=t.reference, number=c.number,
                 changes=[ch["field"] for ch in c.changes])
    db.session.commit()
    return {}


@bp.post("/<int:tender_id>/rectificatif")
@requires("tenders.publish")
def correct(tender_id: int):
    """Publish a correction notice (avis rectificatif) of an open consultation."""
    t = tender_or_404(tender_id)
    errors = _publish_correction(t, request.form)
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
        new = wizard.parse_datetime(request.form.get("reception_deadline", ""))
    except ValueError:
        new = None
    if new is None:
        flash(_("Enter the new deadline for bids."), "error")
        return back
    if new <= t.reception_deadline:
        flash(_("The new deadline must be later than the current one (%(d)s).",
                d=t.reception_deadline.strftime("%d/%m/%Y %H:%M")), "error")
        return back
    shift = new - t.reception_deadline
    form = {"reception_deadline": new.isoformat(),
            "reason": "Report de la date limite de réception des offres au "
                      f"{new:%d/%m/%Y à %H h %M}."}
    if t.questions_deadline:
        form["questions_deadline"] = (t.questions_deadline + shift).isoformat()
    if t.opening_date:
        form["opening_date"] = max(t.opening_date, new.date() + dt.timedelta(days=1)).isoformat()
    errors = _publish_correction(t, form)
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
    if t.status != "draft":
        flash(_("A published consultation cannot be deleted."), "error")
        return redirect(url_for("tenders.summary", tender_id=t.id))
    audit.record("tenders.deleted", target=t, reference=t.reference)
    for a in t.attachments:
        storage.discard(db.session, a.storage_key)
    storage.discard(db.session, t.dce_key)
    db.session.delete(t)
    db.session.commit()
    flash(_("The draft is deleted."), "success")
    return redirect(url_for("tenders.index"))


def send_document(t: Tender, doc_code: str, fmt: str) -> Response:
    if fmt not in documents.FORMATS:
        abort(404)
    doc = documents.find(t, doc_code)
    if doc is None:
        abort(404)
    data = documents.render(doc, fmt)
    return Response(data, mimetype=documents.FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{doc.filename}.{fmt}"'})


def _stored(read, what: str):
    """Bytes from the file storage, or a clear French page (never a 500) when the file is missing or altered."""
    try:
        return read()
    except storage.StorageError as exc:
        log.error("tenders: %s cannot be served: %s", what, exc)
        abort(Response(render_template("tenders/file_unavailable.html"), status=410))


def send_dce(t: Tender) -> Response:
    if t.status != "draft" and t.dce_key:
        data = _stored(lambda: t.dce_zip, f"DCE of tender {t.id}")
    else:
        data = _stored(lambda: documents.dce_zip(t), f"DCE of draft tender {t.id}")
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="DCE-{t.reference}.zip"'})


def send_attachment(t: Tender, a: TenderAttachment) -> Response:
    data = _stored(lambda: a.content, f"attachment {a.id} of tender {t.id}")
    return Response(data, mimetype=a.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{documents.safe_name(a.filename)}"'})


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
    ext = storage.extension(f.filename)
    if ext not in storage.TYPES:
        flash(_("This type of file is not accepted (accepted: %(ext)s).", ext=", ".join(sorted(storage.TYPES))),
              "error")
        return back
    limit = storage.max_attachment()
    content = f.read(limit + 1)
    if len(content) > limit:
        flash(_("The file is too large (%(mb)d MB at most).", mb=limit // (1024 * 1024)), "error")
        return back
    if not content:
        flash(_("The file is empty."), "error")
        return back
    if not storage.content_type_ok(ext, content[:4096]):
        log.info("tenders: upload to tender %s refused: %r does not look like a .%s file", t.id, f.filename, ext)
        flash(_("The content of this file does not match its extension (.%(ext)s): check that it is the right file.",
                ext=ext), "error")
        return back
    if sum(x.size for x in t.attachments) + len(content) > storage.max_total():
        flash(_("The attachments of a consultation cannot exceed %(mb)d MB in all: remove a file first.",
                mb=storage.max_total() // (1024 * 1024)), "error")
        return back
    stored = storage.save_for(db.session, "attachments", t.id, content)
    a = TenderAttachment(tender=t, filename=documents.safe_name(f.filename), mimetype=storage.mimetype(ext),
                         storage_key=stored.key, sha256=stored.sha256, size=stored.size)
    db.session.add(a)
    audit.record("tenders.attachment_added", target=t, filename=a.filename, size=a.size, sha256=a.sha256)
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
        q.answered_at = dt.datetime.now()
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
        if "tenders.publish" not in g.permissions:
            abort(403)
        if t.status not in ("published", "closed", "awarded"):
            flash(_("Only a published consultation can be awarded."), "error")
            return redirect(url_for("tenders.summary", tender_id=t.id))
        try:
            lot_number = int(form.get("lot", "1"))
        except ValueError:
            lot_number = 0
        if lot_number not in {lot.number for lot in t.lots}:
            errors["lot"] = _("Choose the lot.")
        name = form.get("holder_name", "").strip()[:300]
        siret = re.sub(r"\s", "", form.get("holder_siret", ""))
        if not name:
            errors["holder_name"] = _("Enter the name of the company.")
        if not wizard.SIRET_RE.match(siret):
            errors["holder_siret"] = _("The SIRET number has 14 digits.")
        try:
            amount = wizard.parse_amount(form.get("amount_ht", ""))
            if amount is None or amount <= 0 or amount >= rules.MAX_AMOUNT:
                raise InvalidOperation
        except (ValueError, InvalidOperation):
            errors["amount_ht"] = _("Enter the amount of the contract excluding tax.")
            amount = None
        try:
            notified = wizard.parse_date(form.get("notified_on", ""))
            if notified is None:
                raise ValueError
            if notified > dt.date.today():
                errors["notified_on"] = _("The notification date cannot be in the future.")
        except ValueError:
            errors["notified_on"] = _("Enter the date of notification.")
            notified = None
        try:
            offers = int(form.get("offers_received", ""))
            if offers < 1:
                raise ValueError
        except ValueError:
            errors["offers_received"] = _("Enter the number of bids received (at least 1).")
            offers = None
        price_form = form.get("price_form", "Forfaitaire")
        if price_form not in ("Forfaitaire", "Unitaire", "Mixte"):
            errors["price_form"] = _("Choose the form of the price.")
        if not errors:
            a = t.award_of(lot_number)
            if a is None:
                a = TenderAward(tender_id=t.id, lot_number=lot_number)
                t.awards.append(a)
                db.session.add(a)
            a.holder_name, a.holder_siret, a.amount_ht = name, siret, amount.quantize(Decimal("0.01"))
            a.notified_on, a.offers_received, a.price_form = notified, offers, price_form
            a.data_published_on = dt.date.today()
            try:
                opendata.decp_document([t])
                opendata.ocds_release(t)
            except opendata.OpenDataError as exc:
                db.session.rollback()
                log.warning("tenders: award of tender %s gives invalid open data: %s", t.id, exc)
                flash(_("The open data could not be produced: %(error)s", error=str(exc)), "error")
                return redirect(url_for("tenders.award", tender_id=tender_id))
            if t.fully_awarded:
                t.status = "awarded"
            audit.record("tenders.awarded", target=t, lot=lot_number, holder_siret=siret, amount=str(a.amount_ht))
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


def _json_download(build, filename: str) -> Response:
    return open_data_response(build, filename, download_name=filename)


def open_data_response(build, what: str, download_name: str | None = None) -> Response:
    """The JSON document ``build()`` returns (DECP, OCDS), or — when it fails its schema — a 503 with a French
    message for the reader and the reason in the log. Shared by the staff pages and the public ones."""
    try:
        doc = build()
    except opendata.OpenDataError as exc:
        log.error("tenders: %s is not valid open data: %s", what, exc)
        return Response(json.dumps({"error": _("The open data of this consultation cannot be produced right now.")},
                                   ensure_ascii=False), status=503, mimetype="application/json")
    headers = {"Content-Disposition": f'attachment; filename="{download_name}"'} if download_name else {}
    return Response(json.dumps(doc, ensure_ascii=False, indent=2), mimetype="application/json", headers=headers)


@bp.get("/<int:tender_id>/decp.json")
def decp(tender_id: int):
    t = tender_or_404(tender_id)
    if not t.awards:
        abort(404)
    return _json_download(lambda: opendata.decp_document([t]), f"DECP-{t.reference}.json")


@bp.get("/<int:tender_id>/ocds.json")
def ocds(tender_id: int):
    t = tender_or_404(tender_id)
    if t.status == "draft":
        abort(404)
    return _json_download(lambda: opendata.ocds_release(t), f"OCDS-{t.reference}.json")
