"""Public pages (no sign-in, at /p/tenders/): open consultations of the department, their notice and DCE, public
questions and answers, an Atom feed, and each collectivity's DECP as open data.

Only published tenders are shown; the questioners' e-mail addresses never leave the database.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from flask_wtf.csrf import CSRFError

from portal.extensions import csrf, db
from portal.identity import local_wall
from portal.models import Collectivity
from portal.ratelimit import honeypot_filled, public_form
from portal.urls import base_url
from portal.responses import pdf_response
from portal.urls import absolute_url

from .. import (analysis, companies, deposits, documents, ending, notify, opendata, opening, rules, schemas, storage,
               wizard)
from ..access import child_or_404, published_or_404
from .. import exchanges as exchanges_mod
from ..companies import Company
from ..models import Tender, TenderAttachment, TenderQuestion
from ..operations import close_expired
from . import PACKAGE_ROOT, deposit_body
from .downloads import open_data_response, send_attachment, send_dce, send_document

log = logging.getLogger(__name__)

public_bp = Blueprint("tenders_public", __name__, root_path=PACKAGE_ROOT, template_folder="templates",
                      static_folder="static", static_url_path="/static/tenders-public")

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _buyers():
    return db.session.scalars(select(Collectivity).join(Tender, Tender.collectivity_id == Collectivity.id)
                              .where(Tender.status != "draft").distinct().order_by(Collectivity.name)).all()


@public_bp.get("/")
def index():
    close_expired()
    now = local_wall()
    stmt = select(Tender).where(Tender.status == "published", Tender.reception_deadline > now)
    args = request.args
    buyer = args.get("acheteur", "")
    if buyer.isdigit():
        stmt = stmt.where(Tender.collectivity_id == int(buyer))
    if args.get("nature") in rules.NATURES:
        stmt = stmt.where(Tender.nature == args["nature"])
    before = None
    try:
        before = schemas.parse_date(args.get("avant", ""))
    except ValueError:
        flash(_("The date filter is not a valid date."), "error")
    if before:
        stmt = stmt.where(Tender.reception_deadline < dt.datetime.combine(before + dt.timedelta(days=1), dt.time()))
    tenders = db.session.scalars(stmt.order_by(Tender.reception_deadline)).all()
    return render_template("tenders/public_index.html", tenders=tenders, buyers=_buyers(), args=args,
                           natures=rules.NATURES, nature_label=rules.nature_label, now=now)


@public_bp.get("/<int:tender_id>")
def detail(tender_id: int):
    close_expired()
    t = published_or_404(tender_id)
    answered = [q for q in t.questions if q.answer]
    return render_template("tenders/public_detail.html", t=t, answered=answered, now=local_wall(t.collectivity),
                           docs=documents.all_docs(t), nature_label=rules.nature_label, fmt_eur=rules.fmt_eur,
                           wizard=wizard, form={}, errors={}, ending=ending)


@public_bp.post("/<int:tender_id>/questions")
@public_form(lambda args: f"tender:{args.get('tender_id')}")
def ask(tender_id: int):
    t = published_or_404(tender_id)
    now = local_wall(t.collectivity)
    email = request.form.get("email", "").strip()[:254]
    text = request.form.get("question", "").strip()
    errors = {}
    if honeypot_filled(f"tenders: question on tender {t.id}"):  # a field invisible to people: a robot filled it
        flash(_("Your question is sent. The answer will be published on this page for all companies."), "success")
        return redirect(url_for("tenders_public.detail", tender_id=t.id))
    if not t.is_open(now) or (t.questions_deadline and now >= t.questions_deadline):
        errors["question"] = _("Questions are closed for this consultation.")
    if not EMAIL_RE.match(email):
        errors["email"] = _("Enter a valid e-mail address: the buyer may need it to reach you.")
    if not text:
        errors["question"] = errors.get("question") or _("Write your question.")
    elif len(text) > 3000:
        errors["question"] = _("The question is too long (3 000 characters at most).")
    if errors:
        answered = [q for q in t.questions if q.answer]
        return render_template("tenders/public_detail.html", t=t, answered=answered, now=now,
                               docs=documents.all_docs(t), nature_label=rules.nature_label, fmt_eur=rules.fmt_eur,
                               wizard=wizard, form=request.form, errors=errors, ending=ending), 422
    q = TenderQuestion(tender=t, email=email, question=text, public_question=wizard.anonymise(text))
    db.session.add(q)
    notify.question_to_buyer(t, q)
    db.session.commit()
    log.info("tenders: question received on tender %s", t.id)
    flash(_("Your question is sent. The answer will be published on this page for all companies."), "success")
    return redirect(url_for("tenders_public.detail", tender_id=t.id) + "#questions")


@public_bp.get("/<int:tender_id>/dce.zip")
def dce(tender_id: int):
    t = published_or_404(tender_id)
    response = send_dce(t)
    _withdrawn(t, "dce", f"DCE-{t.reference}.zip")
    return response


def _withdrawn(t, kind: str, name: str) -> None:
    """Write the download in the register of withdrawals (registre des retraits): the company signed in, or none."""
    opening.record_withdrawal(t, kind, name, session.get("tenders_company"))
    db.session.commit()


@public_bp.get("/<int:tender_id>/pieces/<int:attachment_id>")
def attachment(tender_id: int, attachment_id: int):
    t = published_or_404(tender_id)
    a = child_or_404(TenderAttachment, attachment_id, t)
    response = send_attachment(t, a)
    _withdrawn(t, "attachment", a.filename)
    return response


@public_bp.get("/<int:tender_id>/documents/<doc>.<fmt>")
def document(tender_id: int, doc: str, fmt: str):
    t = published_or_404(tender_id)
    response = send_document(t, doc, fmt)
    _withdrawn(t, "document", f"{doc}.{fmt}")
    return response


@public_bp.get("/<int:tender_id>/ocds.json")
def ocds(tender_id: int):
    """The OCDS release package of a published consultation's latest state (open, corrected, closed, ended or
    awarded)."""
    t = published_or_404(tender_id)
    uri = absolute_url("tenders_public.ocds", tender_id=t.id)
    return open_data_response(lambda: opendata.ocds_package(t, uri), f"the OCDS release package of tender {t.id}")


def _updated(t) -> dt.datetime:
    """When the consultation last changed publicly: publication, last correction notice or end of the procedure."""
    moments = [t.published_at] + [c.published_at for c in t.corrections]
    if t.ended_on:
        moments.append(dt.datetime.combine(t.ended_on, dt.time(12, 0)))
    return max((m for m in moments if m), default=dt.datetime(2026, 1, 1))


@public_bp.get("/flux.atom")
def feed():
    tenders = db.session.scalars(select(Tender).where(Tender.status != "draft")
                                 .order_by(Tender.published_at.desc()).limit(50)).all()
    updated = max((_updated(t) for t in tenders), default=dt.datetime(2026, 1, 1))
    base = base_url()
    entries = []
    for t in tenders:
        link = base + url_for("tenders_public.detail", tender_id=t.id)
        summary = _("%(buyer)s — %(nature)s — deadline %(deadline)s", buyer=t.collectivity.name,
                    nature=rules.nature_label(t.nature),
                    deadline=t.reception_deadline.strftime("%d/%m/%Y %H:%M") if t.reception_deadline else "—")
        if t.ended:
            summary += " — " + str(wizard.STATUS_LABELS[t.status])
        elif t.corrections:
            summary += " — " + _("corrected (%(n)d correction notice(s))", n=len(t.corrections))
        entries.append(
            f"<entry><title>{escape(t.title)}</title><link href=\"{escape(link)}\"/><id>{escape(link)}</id>"
            f"<updated>{_updated(t):%Y-%m-%dT%H:%M:%S}Z</updated><summary>{escape(summary)}</summary></entry>")
    body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">"
            f"<title>{escape(_('Public tenders of the local authorities'))}</title>"
            f"<link rel=\"self\" href=\"{escape(base + url_for('tenders_public.feed'))}\"/>"
            f"<id>{escape(base + url_for('tenders_public.index'))}</id><updated>{updated:%Y-%m-%dT%H:%M:%S}Z</updated>"
            + "".join(entries) + "</feed>")
    return Response(body, mimetype="application/atom+xml")


@public_bp.get("/acheteurs/<int:collectivity_id>/decp.json")
def decp(collectivity_id: int):
    coll = db.session.get(Collectivity, collectivity_id)
    if coll is None:
        abort(404)
    tenders = db.session.scalars(select(Tender).where(Tender.collectivity_id == coll.id, Tender.status != "draft",
                                                      Tender.awards.any()).order_by(Tender.id)).all()
    if not tenders:
        return Response('{"marches": {"marche": []}}', mimetype="application/json")
    return open_data_response(lambda: opendata.decp_document(tenders), f"the DECP of collectivity {coll.id}")


# Companies: account, deposit of a bid, receipt ----------------------------------------------------------------------

def _company():
    """The company signed in on the public pages, or None."""
    company_id = session.get("tenders_company")
    return db.session.get(Company, company_id) if company_id else None


@public_bp.route("/entreprises/inscription", methods=["GET", "POST"])
def company_signup():
    errors, form = {}, request.form
    if request.method == "POST":
        company, errors = companies.register(form)
        if company is not None:
            link = absolute_url("tenders_public.company_confirm", token=companies.confirmation_token(company))
            notify.confirm_company(company, link)
            db.session.commit()
            log.info("tenders: company account %s created", company.id)
            flash(_("Your account is created. Open the link we sent to %(email)s to confirm your address.",
                    email=company.email), "success")
            return redirect(url_for("tenders_public.company_signin"))
    return render_template("tenders/company_signup.html", errors=errors, form=form), (422 if errors else 200)


@public_bp.get("/entreprises/confirmer/<token>")
def company_confirm(token: str):
    company = companies.confirm(token)
    if company is None:
        flash(_("This confirmation link is not valid or has expired."), "error")
        return redirect(url_for("tenders_public.company_signin"))
    db.session.commit()
    flash(_("Your e-mail address is confirmed: you may deposit bids."), "success")
    return redirect(url_for("tenders_public.company_signin"))


@public_bp.route("/entreprises/connexion", methods=["GET", "POST"])
def company_signin():
    if request.method == "POST":
        company = companies.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if company is None:
            flash(_("Wrong e-mail address or password."), "error")
            return render_template("tenders/company_signin.html", company=None), 401
        session["tenders_company"] = company.id
        db.session.commit()  # a rehashed password
        target = request.args.get("suite", "")
        return redirect(target if target.startswith("/p/tenders/") else url_for("tenders_public.index"))
    return render_template("tenders/company_signin.html", company=_company())


@public_bp.post("/entreprises/deconnexion")
def company_signout():
    session.pop("tenders_company", None)
    return redirect(url_for("tenders_public.index"))


@public_bp.route("/<int:tender_id>/depot", methods=["GET", "POST"])
@csrf.exempt  # checked in the view, once the body has been read by the sealing parser (_receive)
def deposit(tender_id: int):
    """A company deposits (or replaces) its bid before the deadline: the candidature once, then for each lot it
    chooses the acte d'engagement, the financial offer and the technical memo. The files are sealed while they
    arrive; the deposit is time-stamped at the reception of its last byte."""
    t = published_or_404(tender_id)
    company = _company()
    if company is None:
        return redirect(url_for("tenders_public.company_signin", suite=request.path))
    errors: dict[str, str] = {}
    if request.method == "POST":
        began = deposits.now_utc()  # the headers are in; the body is read (and sealed) from here on
        try:
            parts, at = _receive(t)
        except CSRFError:
            abort(400)
        try:
            bid = deposits.deposit_uploads(t, company, _parts_by_lot(t, parts, errors), at, began)
        except deposits.DepositRefused as exc:
            db.session.rollback()
            log.info("tenders: deposit on tender %s refused: %s", t.id, exc.reason)
            flash(str(exc.message), "error")
        else:
            deposits.send_receipt(t, bid)
            # read before the commit expires the rows, so that they are not read again for the log
            bid_id, late, sizes = bid.id, bid.late, [f.size for f in bid.files]
            db.session.commit()
            log.info("tenders: bid %s deposited on tender %s (%d files, %d bytes, began %s, last byte %s%s)", bid_id,
                     tender_id, len(sizes), sum(sizes), began.isoformat(), at.isoformat(), ", out of time" if late else "")
            if late:
                flash(str(deposits.late_message(t)), "warning")
            else:
                flash(_("Your bid is received and sealed. The receipt is below and in your mailbox."), "success")
            return redirect(url_for("tenders_public.deposit", tender_id=tender_id))
    mine = deposits.register_of(t, company)
    return render_template("tenders/deposit.html", t=t, company=company, mine=mine, roles=deposits.ROLES,
                           lot_roles=deposits.LOT_ROLES, deadline_utc=deposits.deadline_utc(t), open=t.is_open(),
                           late_window=deposits.receives_late(t),
                           errors=errors, max_mb=storage.max_attachment() // (1024 * 1024), chosen=set(request.form.getlist("lot")) if request.method == "POST" else set())


def _receive(t) -> tuple[list[tuple[str, storage.SealedUpload]], dt.datetime]:
    """Read the multipart body, sealing each file as it arrives (:func:`deposit_body.read_sealed`: one pass over the
    bytes, nothing spooled to a temporary file); then check the CSRF token. → [(field name, upload)] and the moment
    the last byte was received (UTC), which is the deposit's time-stamp: the arrêté of 22 March 2019 on buyer
    profiles has the platform time-stamp the *reception* of each bid, and the RC says so — a bid still arriving at
    the deadline is late, even if its sending began before (R2143-2 and R2151-5: bids received out of time are
    eliminated; the profile keeps them, marked late)."""
    public = deposits.consultation_key(t).public_pem
    db.session.commit()  # a key made now must not wait for the upload in an open transaction
    req = request._get_current_object()
    if "form" in req.__dict__:  # the body was parsed before this view (not expected): seal what werkzeug kept
        log.warning("tenders: deposit body parsed before the sealing parser; files sealed after reading")
        parts = [(name, _sealed_copy(t, public, f)) for name, f in req.files.items(multi=True) if f.filename]
    else:
        parts = deposit_body.read_sealed(req, lambda filename: storage.SealedUpload(t.id, public, filename))
    at = deposits.now_utc()
    try:
        csrf.protect()
    except BaseException:
        for _name, up in parts:
            up.discard()
        raise
    return parts, at


def _sealed_copy(t, public: bytes, f) -> storage.SealedUpload:
    up = storage.SealedUpload(t.id, public, f.filename)
    while chunk := f.stream.read(deposit_body.READ_SIZE):
        up.write(chunk)
    return up


def _parts_by_lot(t, parts, errors) -> list[deposits.Part]:
    """The uploads as parts of the bid: ``candidature`` once, ``<role>_<lot>`` for the lots the company chose."""
    chosen = {int(v) for v in request.form.getlist("lot") if v.isdigit()}
    out, unknown = [], []
    for name, up in parts:
        role, _sep, lot = name.partition("_")
        if name == "candidature" or name == "offre":
            out.append(deposits.Part(name, None, up.filename, up))
        elif role in deposits.LOT_ROLES and lot.isdigit():
            out.append(deposits.Part(role, int(lot), up.filename, up))
        else:
            unknown.append(up)
    for up in unknown:
        up.discard()
    with_files = {p.lot for p in out if p.lot is not None}
    missing = sorted(chosen - with_files)
    stray = sorted(with_files - chosen)
    if missing or stray:
        for p in out:
            p.upload.discard()
        lot = (missing or stray)[0]
        message = (_("Lot %(n)d: add the files of your offer for this lot, or untick it.", n=lot) if missing else
                   _("Lot %(n)d: tick the lot you bid for, or remove its files.", n=lot))
        raise deposits.DepositRefused(message, f"lots chosen {sorted(chosen)}, files for {sorted(with_files)}")
    return out


@public_bp.get("/<int:tender_id>/depot/<int:bid_id>/accuse.pdf")
def receipt(tender_id: int, bid_id: int):
    """The receipt of a deposit, for the company that made it."""
    t = published_or_404(tender_id)
    company = _company()
    bid = db.session.get(deposits.Bid, bid_id)
    if company is None or bid is None or bid.tender_id != t.id or bid.company_id != company.id:
        abort(404)
    doc = deposits.receipt_doc(t, bid)
    return pdf_response(documents.render(doc, "pdf"), f"{doc.filename}.pdf")


@public_bp.get("/<int:tender_id>/courriers/<int:lot_number>.pdf")
def letter(tender_id: int, lot_number: int):
    """The decision's letter on a lot (rejection or notification), for the company it is addressed to."""
    t = published_or_404(tender_id)
    company = _company()
    lot = next((lot for lot in t.lots if lot.number == lot_number), None)
    if company is None or lot is None:
        abort(404)
    bids = opening.valid_bids(t)
    mine = next((b for b in bids if b.company_id == company.id), None)
    doc = analysis.letter_for(t, lot, mine, bids) if mine else None
    if doc is None:
        abort(404)
    return pdf_response(documents.render(doc, "pdf"), f"{doc.filename}.pdf")



@public_bp.route("/entreprises/alertes", methods=["GET", "POST"])
def company_alerts():
    """The signed-in company's alerts on new consultations (CPV code prefix and place)."""
    company = _company()
    if company is None:
        return redirect(url_for("tenders_public.company_signin", suite=request.path))
    errors: dict = {}
    if request.method == "POST":
        errors = exchanges_mod.add_alert(company, request.form)
        if not errors:
            db.session.commit()
            flash(_("The alert is saved: you will receive an e-mail for each new matching consultation."), "success")
            return redirect(url_for("tenders_public.company_alerts"))
        db.session.rollback()
    return render_template("tenders/company_alerts.html", company=company, alerts=exchanges_mod.alerts_of(company),
                           errors=errors, form=request.form), (422 if errors else 200)


@public_bp.post("/entreprises/alertes/<int:alert_id>/supprimer")
def company_alert_delete(alert_id: int):
    company = _company()
    alert = db.session.get(exchanges_mod.CompanyAlert, alert_id)
    if company is None or alert is None or alert.company_id != company.id:
        abort(404)
    db.session.delete(alert)
    db.session.commit()
    flash(_("The alert is deleted."), "success")
    return redirect(url_for("tenders_public.company_alerts"))


@public_bp.route("/<int:tender_id>/echanges", methods=["GET", "POST"])
def exchanges(tender_id: int):
    """The buyer's requests to the signed-in company on this consultation, and its replies."""
    t = published_or_404(tender_id)
    company = _company()
    if company is None:
        return redirect(url_for("tenders_public.company_signin", suite=request.path))
    mine = [ex for ex in exchanges_mod.exchanges_of(t) if ex.bid.company_id == company.id]
    errors: dict = {}
    if request.method == "POST":
        ex = next((ex for ex in mine if str(ex.id) == request.form.get("exchange", "")), None)
        if ex is None:
            abort(404)
        f = request.files.get("file")
        upload = (f.filename, f.read(storage.max_attachment() + 1)) if f and f.filename else None
        errors = exchanges_mod.reply(ex, request.form.get("reply", ""), upload)
        if not errors:
            db.session.commit()
            log.info("tenders: exchange %s answered", ex.id)
            flash(_("Your answer is sent to the buyer, time-stamped %(when)s (%(zone)s).", zone=t.zone_label,
                    when=ex.replied_paris.strftime("%d/%m/%Y %H:%M:%S")), "success")
            return redirect(url_for("tenders_public.exchanges", tender_id=t.id))
        db.session.rollback()
    return render_template("tenders/company_exchanges.html", t=t, company=company, rows=mine,
                           kinds=exchanges_mod.KINDS, errors=errors, form=request.form), (422 if errors else 200)
