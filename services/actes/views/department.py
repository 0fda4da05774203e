"""The department's pages of the service (/admin/s/actes/), as tiers de télétransmission of its collectivities:

- the overview: every collectivity of the department that has the service or a TdT account, its certificate (holder,
  expiry, who pays) and its counts, and the department's statistics (per month, delays, errors, letters by kind);
- one collectivity's page: its TdT account and certificate, edited by the department's administrators
  (``collectivities.admin``; agents read), the classification of its préfecture (fetched again on demand), the
  reminders already sent, its statistics;
- the statistics as CSV, for the department or one collectivity.

Gate (portal.registry): signed in, working for the department, ``collectivities.read`` (or the view's permission).
Counts and dates only: no act's content is shown here. The acts are read in the department's communes' territory
(an EPCI's acts are scoped to a member commune), entered explicitly with ``territory_scope``.
"""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import FileField, PasswordField, RadioField, StringField

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.models import Collectivity
from portal.registry import is_subscribed, requires
from portal.responses import csv_response
from portal.tenancy import territory_scope

from . import SERVICE_ROOT
from .. import operations, tdt
from ..models import CertificateReminder, Classification, PrefectureState, TdtAccount
from ..schemas import REPLY_LABELS
from ..statistics import statistics
from ..tdt_accounts import PAYERS, REMINDER_DAYS, AccountInput, AccountRefused, save_account

department_bp = Blueprint("actes_department", __name__, template_folder="templates",
                          root_path=SERVICE_ROOT)

log = logging.getLogger(__name__)

ADMIN = "collectivities.admin"
KINDS = ("commune", "epci")


class AccountForm(FlaskForm):
    prefecture = StringField(_l("Préfecture (code on the TdT)"))
    arrondissement = StringField(_l("Arrondissement"), default="1")
    collectivity_nature = StringField(_l("Nature of the collectivity (ACTES code)"), default="31")
    siret = StringField(_l("SIRET"))
    login = StringField(_l("Login on the TdT"))
    certificate_holder = StringField(_l("Certificate holder (empty: the name in the certificate)"))
    paid_by = RadioField(_l("Who pays for the certificate"), choices=list(PAYERS.items()), default="department")
    certificate = FileField(_l("Certificate (PEM or DER file, without its private key)"))
    credential = FileField(_l("Certificate for the transmissions, with its private key (PKCS#12 .p12/.pfx, or PEM "
                              "holding the certificate and the key)"))
    credential_password = PasswordField(_l("Password of the PKCS#12 file or of the key (if any)"))


class ClassificationForm(FlaskForm):
    classification = FileField(_l("Classification file of the préfecture (XML)"))


def _department_collectivities() -> list[Collectivity]:
    dept = g.collectivity
    return db.session.scalars(select(Collectivity).where(Collectivity.kind.in_(KINDS),
                                                         Collectivity.department_code == dept.department_code)
                              .options(selectinload(Collectivity.conventions), selectinload(Collectivity.activations))
                              .order_by(Collectivity.name)).all()


def _subscribed_ids(colls: list[Collectivity]) -> set[int]:
    """Collectivities with the service (the portal's rule: convention in force and the department's switch on)."""
    return {c.id for c in colls if is_subscribed(c, "actes")}


@contextmanager
def _department_territory():
    """The department's communes, entered explicitly (its own territory is empty). ``territory_scope`` gives the
    transaction in progress that territory (PostgreSQL's row-level security) and takes it back on the way out; no
    commit here, which would expire every row the page already loaded."""
    dept = g.collectivity
    codes = set(db.session.scalars(select(Collectivity.insee).where(
        Collectivity.kind == "commune", Collectivity.department_code == dept.department_code,
        Collectivity.insee.is_not(None))))
    with territory_scope(codes):
        yield


def _collectivity_or_404(collectivity_id: int) -> Collectivity:
    coll = db.session.get(Collectivity, collectivity_id)
    if coll is None or coll.kind not in KINDS or coll.department_code != g.collectivity.department_code:
        abort(404)
    has_account = db.session.scalar(select(TdtAccount.id).where(TdtAccount.collectivity_id == coll.id))
    if not has_account and coll.id not in _subscribed_ids([coll]):
        abort(404)
    return coll


def _since() -> dt.date:
    today = local_today()
    return dt.date(today.year - 1, today.month, 1)


@department_bp.route("/")
def overview():
    today = local_today()
    colls = _department_collectivities()
    accounts = {a.collectivity_id: a for a in db.session.scalars(
        select(TdtAccount).where(TdtAccount.collectivity_id.in_([c.id for c in colls])))}
    subscribed = _subscribed_ids(colls)
    shown = [c for c in colls if c.id in accounts or c.id in subscribed]
    with _department_territory():
        stats = statistics([c.id for c in shown], since=_since())
    per_coll = stats.collectivities()
    rows = []
    for coll in shown:
        acc = accounts.get(coll.id)
        days = (acc.certificate_expires_on - today).days if acc and acc.certificate_expires_on else None
        rows.append({"coll": coll, "acc": acc, "days": days, "stats": per_coll.get(coll.id),
                     "reminder": days is not None and days <= max(REMINDER_DAYS)})
    return render_template("actes/department.html", rows=rows, months=stats.months(), total=stats.total(),
                           reply_labels=REPLY_LABELS)


@department_bp.route("/collectivites/<int:collectivity_id>", methods=["GET", "POST"])
def collectivity(collectivity_id: int):
    return _collectivity_page(collectivity_id)


def _collectivity_page(collectivity_id: int, classification_form: ClassificationForm | None = None,
                       refused: bool = False):
    coll = _collectivity_or_404(collectivity_id)
    acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == coll.id))
    reading = request.method == "GET" or classification_form is not None
    form = AccountForm(formdata=None, obj=acc) if reading else AccountForm()
    if reading and acc is not None:
        form.paid_by.data = "department" if acc.paid_by_department else "collectivity"
    status = 422 if refused else 200
    if request.method == "POST" and classification_form is None:
        if ADMIN not in g.permissions:
            abort(403)
        if form.validate_on_submit():
            upload = request.files.get("certificate")
            data = upload.read() if upload and upload.filename else None
            cred_upload = request.files.get("credential")
            cred_data = cred_upload.read() if cred_upload and cred_upload.filename else None
            values = AccountInput(prefecture=form.prefecture.data or "", arrondissement=form.arrondissement.data or "",
                                  collectivity_nature=form.collectivity_nature.data or "",
                                  siret=form.siret.data or "", login=form.login.data or "",
                                  certificate_holder=form.certificate_holder.data or "",
                                  paid_by=form.paid_by.data or "", certificate=data,
                                  certificate_filename=upload.filename if upload else "",
                                  credential=cred_data, credential_password=form.credential_password.data or "")
            try:
                save_account(coll, values, current_user)
            except AccountRefused as exc:
                db.session.rollback()
                for name, message in exc.errors.items():
                    getattr(form, name).errors = [message]
                status = 422
            else:
                db.session.commit()
                flash(_("The TdT account of %(name)s is saved.", name=coll.name), "success")
                return redirect(url_for("actes_department.collectivity", collectivity_id=coll.id))
        else:
            status = 400
    prefecture = acc.prefecture if acc and acc.prefecture else operations.prefecture_of(coll)
    stored = db.session.scalar(select(Classification.version_date).where(Classification.prefecture == prefecture)
                               .order_by(Classification.version_date.desc()).limit(1))
    announced = db.session.get(PrefectureState, prefecture)
    reminders = db.session.scalars(select(CertificateReminder).where(CertificateReminder.account_id == acc.id)
                                   .order_by(CertificateReminder.sent_at.desc())).all() if acc else []
    with _department_territory():
        stats = statistics([coll.id], since=_since())
    today = local_today()
    days = (acc.certificate_expires_on - today).days if acc and acc.certificate_expires_on else None
    return render_template("actes/department_collectivity.html", coll=coll, acc=acc, form=form, days=days,
                           prefecture=prefecture, stored_version=stored, announced=announced, reminders=reminders,
                           months=stats.months(), total=stats.total(), reply_labels=REPLY_LABELS,
                           can_edit=ADMIN in g.permissions, payers=PAYERS,
                           classification_form=classification_form or ClassificationForm()), status


@department_bp.route("/collectivites/<int:collectivity_id>/classification", methods=["POST"])
@requires(ADMIN)
def fetch_classification(collectivity_id: int):
    """Fetch the préfecture's classification from the TdT again (after the préfecture changed it)."""
    coll = _collectivity_or_404(collectivity_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    prefecture = operations.prefecture_of(coll)
    try:
        row = operations.refresh_classification(prefecture)
    except tdt.TdtRefused as exc:
        db.session.rollback()
        flash(_("The TdT refused to give the classification: %(reason)s", reason=str(exc)), "error")
    except (tdt.TdtUnavailable, ValueError) as exc:
        db.session.rollback()
        log.warning("actes: classification of %s not fetched: %s", prefecture, exc)
        flash(_("The TdT could not be reached or sent an unreadable classification; try again later."), "error")
    else:
        audit.record("actes.classification_fetched", target=coll, collectivity=coll, prefecture=prefecture,
                     version=row.version_date.isoformat())
        db.session.commit()
        flash(_("Classification of %(prefecture)s: version of %(date)s.", prefecture=prefecture,
                date=row.version_date.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("actes_department.collectivity", collectivity_id=coll.id))


@department_bp.route("/collectivites/<int:collectivity_id>/classification/fichier", methods=["POST"])
@requires(ADMIN)
def upload_classification(collectivity_id: int):
    """Keep the préfecture's classification from a file, when the TdT cannot give it: checked whole, all or
    nothing."""
    coll = _collectivity_or_404(collectivity_id)
    form = ClassificationForm()
    if not form.validate_on_submit():
        abort(400)
    prefecture = operations.prefecture_of(coll)
    upload = request.files.get("classification")
    data = upload.read(operations.MAX_CLASSIFICATION_BYTES + 1) if upload and upload.filename else b""
    try:
        if not data:
            raise ValueError(_("Choose the classification file to upload."))
        row = operations.import_classification(prefecture, data)
    except ValueError as exc:
        db.session.rollback()
        log.info("actes: classification file for %s refused (%s bytes)", prefecture, len(data))
        form.classification.errors = [str(exc)]
        return _collectivity_page(coll.id, classification_form=form, refused=True)
    audit.record("actes.classification_uploaded", target=coll, collectivity=coll, prefecture=prefecture,
                 version=row.version_date.isoformat(), matieres=len(operations.classif.parse(row.xml).matieres))
    db.session.commit()
    flash(_("Classification of %(prefecture)s kept from the file: version of %(date)s.", prefecture=prefecture,
            date=row.version_date.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("actes_department.collectivity", collectivity_id=coll.id))


CSV_HEADER = ("collectivite", "siren", "mois", "actes", "transmis", "acquittes", "en_erreur", "erreurs_rencontrees",
              "delai_median_decision_ar_jours", "delai_median_envoi_ar_jours", "courriers_simples",
              "demandes_de_pieces", "lettres_d_observations", "deferes")


def _csv_rows(colls: dict[int, Collectivity], stats) -> list[list]:
    out = []
    for (cid, month), row in sorted(stats.by_collectivity_month.items(),
                                    key=lambda kv: (colls[kv[0][0]].name, kv[0][1])):
        coll = colls[cid]
        out.append([coll.name, coll.siren or "", month, row.acts, row.sent, row.acknowledged, row.in_error,
                    row.errors_met, "" if row.decision_delay is None else row.decision_delay,
                    "" if row.transmission_delay is None else row.transmission_delay,
                    row.replies.get("courrier_simple", 0), row.replies.get("demande_pieces", 0),
                    row.replies.get("lettre_observations", 0), row.replies.get("defere", 0)])
    return out


@department_bp.route("/statistiques.csv")
def statistics_csv():
    colls = {c.id: c for c in _department_collectivities()}
    with _department_territory():
        stats = statistics(list(colls))
    return csv_response([CSV_HEADER, *_csv_rows(colls, stats)], "actes-statistiques-departement.csv")


@department_bp.route("/collectivites/<int:collectivity_id>/statistiques.csv")
def collectivity_csv(collectivity_id: int):
    coll = _collectivity_or_404(collectivity_id)
    with _department_territory():
        stats = statistics([coll.id])
    return csv_response([CSV_HEADER, *_csv_rows({coll.id: coll}, stats)], f"actes-statistiques-{coll.id}.csv")
