"""The department's side as tiers de télétransmission: each collectivity's TdT account and certificate, and the
reminders before a certificate expires. No ``flask.request`` here: the department pages and the beat task call it.

- :func:`read_certificate` reads an uploaded certificate (PEM or DER, the certificate only: a file holding a private
  key is refused) with ``cryptography``: holder, serial number, issuer, expiry;
- :func:`save_account` checks every field (each refusal a French message naming the field) and writes the account,
  audited, all or nothing;
- :func:`send_reminders` (task ``actes.certificate_reminders``, daily) e-mails the department's team and the
  collectivity's mayor 60, 30 and 7 days before the expiry, through the portal's outbox. Each reminder is a
  :class:`CertificateReminder` row, unique per (account, expiry, days) and written in the same transaction as the
  e-mails: a second run, or two workers at once, never send it twice.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models import Collectivity, Membership, User, utcnow
from portal.permissions import DEPARTMENT_ROLES, ROLE_MAYOR
from portal.urls import absolute_url

from .models import CertificateReminder, TdtAccount

log = logging.getLogger(__name__)

REMINDER_DAYS = (60, 30, 7)
MAX_CERTIFICATE_BYTES = 64 * 1024
PREFECTURE_RE = re.compile(r"^(PREF\d{2}[0-9AB]|SPREF\d{2}[0-9AB][0-9A-Z])$")
PAYERS = {"department": _l("The department"), "collectivity": _l("The collectivity")}


class AccountRefused(Exception):
    """Bad input; ``errors`` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Certificate:
    holder: str
    serial: str
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    der: bytes


def _name(name: x509.Name) -> str:
    return name.rfc4514_string()[:300]


def read_certificate(data: bytes) -> Certificate:
    """The certificate of an uploaded PEM or DER file. ``ValueError`` with a French message when it is not one."""
    if not data:
        raise ValueError(_("The certificate file is empty."))
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise ValueError(_("This file is too large to be a certificate."))
    if b"PRIVATE KEY" in data:
        raise ValueError(_("This file holds a private key: send the certificate only (.pem, .crt or .cer), never "
                           "its key."))
    try:
        cert = (x509.load_pem_x509_certificate(data) if b"-----BEGIN CERTIFICATE-----" in data
                else x509.load_der_x509_certificate(data))
    except ValueError as exc:
        raise ValueError(_("This file is not a readable certificate (PEM or DER expected).")) from exc
    from cryptography.hazmat.primitives.serialization import Encoding

    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    holder = str(cns[0].value) if cns else _name(cert.subject)
    return Certificate(holder=holder[:200], serial=format(cert.serial_number, "X"), subject=_name(cert.subject),
                       issuer=_name(cert.issuer), not_before=cert.not_valid_before_utc.replace(tzinfo=None),
                       not_after=cert.not_valid_after_utc.replace(tzinfo=None), der=cert.public_bytes(Encoding.DER))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@dataclass
class AccountInput:
    prefecture: str = ""
    arrondissement: str = "1"
    collectivity_nature: str = "31"
    siret: str = ""
    login: str = ""
    certificate_holder: str = ""
    paid_by: str = "department"
    certificate: bytes | None = None  # a new certificate file, when one was uploaded
    certificate_filename: str = ""
    credential: bytes | None = None  # the TLS client certificate with its key (PKCS#12 or PEM), when uploaded
    credential_password: str = ""


def save_account(coll: Collectivity, values: AccountInput, user, *, today: dt.date | None = None) -> TdtAccount:
    """Create or update the collectivity's account; ``AccountRefused`` (nothing written) on bad input."""
    today = today or local_today(coll)
    errors: dict[str, str] = {}
    prefecture = values.prefecture.strip().upper()
    if not PREFECTURE_RE.match(prefecture):
        errors["prefecture"] = _("Write the préfecture's code as the TdT shows it: PREF followed by the department "
                                 "(e.g. PREF010), or SPREF, the department and the arrondissement (e.g. SPREF0102).")
    arrondissement = values.arrondissement.strip()
    if not re.fullmatch(r"[0-9]", arrondissement):
        errors["arrondissement"] = _("The arrondissement is one digit (1 for the chef-lieu).")
    nature = values.collectivity_nature.strip()
    if not re.fullmatch(r"[0-9]{2}", nature):
        errors["collectivity_nature"] = _("The nature of the collectivity is a two-digit code of the ACTES "
                                          "protocol (e.g. 31 for a commune).")
    siret = re.sub(r"\s", "", values.siret)
    if siret:
        if not re.fullmatch(r"[0-9]{14}", siret):
            errors["siret"] = _("The SIRET has 14 digits.")
        elif not _luhn_ok(siret):
            errors["siret"] = _("This SIRET is not valid (its check digit is wrong).")
        elif coll.siren and not siret.startswith(coll.siren):
            errors["siret"] = _("This SIRET does not begin with the collectivity's SIREN (%(siren)s).",
                                siren=coll.siren)
    login = values.login.strip()
    if len(login) > 100:
        errors["login"] = _("The TdT login has at most 100 characters.")
    if values.paid_by not in PAYERS:
        errors["paid_by"] = _("Choose who pays for the certificate.")
    cert = None
    if values.certificate is not None:
        try:
            cert = read_certificate(values.certificate)
        except ValueError as exc:
            errors["certificate"] = str(exc)
        else:
            if cert.not_after.date() < today:
                errors["certificate"] = _("This certificate expired on %(date)s: ask the certification authority "
                                          "for its renewal and send the new one.",
                                          date=format_date(cert.not_after.date(), "dd/MM/yyyy"))
    cred = None
    if values.credential is not None:
        from .credentials import read_credential

        try:
            cred = read_credential(values.credential, values.credential_password, today=today)
        except ValueError as exc:
            errors["credential"] = str(exc)
    holder = values.certificate_holder.strip() or (cert.holder if cert else "") or (cred.holder if cred else "")
    if len(holder) > 200:
        errors["certificate_holder"] = _("The holder's name has at most 200 characters.")
    if errors:
        raise AccountRefused(errors)

    acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == coll.id))
    created = acc is None
    if created:
        acc = TdtAccount(collectivity_id=coll.id)
        db.session.add(acc)
    before = {"prefecture": acc.prefecture, "siret": acc.siret, "login": acc.login,
              "holder": acc.certificate_holder, "paid_by_department": acc.paid_by_department}
    acc.prefecture, acc.arrondissement, acc.collectivity_nature = prefecture, int(arrondissement), nature
    acc.siret, acc.login, acc.certificate_holder = siret, login, holder
    acc.paid_by_department = values.paid_by == "department"
    if cert is not None:
        acc.certificate_serial, acc.certificate_subject, acc.certificate_issuer = cert.serial, cert.subject, cert.issuer
        acc.certificate_expires_on, acc.certificate_der = cert.not_after.date(), cert.der
    if cred is not None:  # the certificate the transmissions authenticate with is the one followed and reminded
        from .credentials import store

        db.session.flush()  # the account's collectivity id binds the sealed key
        store(acc, cred)
        if cert is None:
            acc.certificate_serial, acc.certificate_subject = cred.serial, cred.subject
            acc.certificate_issuer, acc.certificate_expires_on = cred.issuer, cred.not_after.date()
    acc.updated_at, acc.updated_by_id = utcnow(), getattr(user, "id", None)
    after = {"prefecture": acc.prefecture, "siret": acc.siret, "login": acc.login, "holder": acc.certificate_holder,
             "paid_by_department": acc.paid_by_department}
    changed = sorted(k for k in after if before[k] != after[k]) if not created else sorted(after)
    if cred is not None:
        changed = sorted({*changed, "client_certificate"})
    shown = cert or cred
    audit.record("actes.tdt_account_saved", target=acc, collectivity=coll, user=user, prefecture=acc.prefecture,
                 fields=changed or None, serial=shown.serial if shown else None,
                 expires_on=shown.not_after.date().isoformat() if shown else None,
                 paid_by_department=acc.paid_by_department)
    return acc


# Reminders --------------------------------------------------------------------------------------------------------

def due_threshold(expires_on: dt.date, today: dt.date) -> int | None:
    """The reminder due today: the smallest of 60/30/7 at or above the days left (a missed day catches up once,
    with the most urgent reminder only)."""
    left = (expires_on - today).days
    due = [d for d in REMINDER_DAYS if left <= d]
    return min(due) if due else None


def recipients(coll: Collectivity) -> list[User]:
    """The department's team (its administrators and agents) and the collectivity's mayor(s), active accounts."""
    dept_ids = select(Collectivity.id).where(Collectivity.kind == "department",
                                             Collectivity.department_code == coll.department_code)
    users = db.session.scalars(
        select(User).distinct().join(Membership, Membership.user_id == User.id)
        .where(User.status == "active",
               ((Membership.collectivity_id.in_(dept_ids)) & (Membership.role.in_(DEPARTMENT_ROLES)))
               | ((Membership.collectivity_id == coll.id) & (Membership.role == ROLE_MAYOR)))
        .order_by(User.email)).all()
    return list(users)


def send_reminders(today: dt.date | None = None) -> int:
    """Queue the reminders due today (committed one account at a time); returns how many were sent."""
    given = today
    sent = 0
    accounts = db.session.scalars(select(TdtAccount).where(TdtAccount.certificate_expires_on.is_not(None))
                                  .order_by(TdtAccount.id)).all()
    for acc_id, expires_on in [(a.id, a.certificate_expires_on) for a in accounts]:
        today = given or local_today(db.session.get(TdtAccount, acc_id).collectivity)  # its département's date
        days = due_threshold(expires_on, today)
        if days is None:
            continue
        acc = db.session.get(TdtAccount, acc_id)
        try:
            with db.session.begin_nested():
                reminder = CertificateReminder(account_id=acc.id, expires_on=expires_on, days=days)
                db.session.add(reminder)
                db.session.flush()  # the unique row first: another run that got here already makes this fail
        except IntegrityError:
            continue
        people = recipients(acc.collectivity)
        left = (expires_on - today).days
        for person in people:
            _mail(person, acc, left)
        reminder.recipients = len(people)
        audit.record("actes.certificate_reminder_sent", target=acc, collectivity=acc.collectivity, user=False,
                     days=days, expires_on=expires_on.isoformat(), recipients=len(people))
        db.session.commit()
        if not people:
            log.warning("actes: certificate of %s expires on %s, nobody to tell", acc.collectivity.name, expires_on)
        sent += 1
    return sent


def _mail(person: User, acc: TdtAccount, left: int) -> None:
    coll = acc.collectivity
    date = format_date(acc.certificate_expires_on, "dd/MM/yyyy")
    if left < 0:
        first = _l("The certificate %(collectivity)s uses to send its acts to the préfecture expired on %(date)s: "
                   "no act can be sent until it is renewed.", collectivity=coll.name, date=date)
    else:
        first = _l("The certificate %(collectivity)s uses to send its acts to the préfecture expires on %(date)s, "
                   "in %(days)s days.", collectivity=coll.name, date=date, days=left)
    payer = (_l("The department pays for this certificate: its team orders the renewal.") if acc.paid_by_department
             else _l("The collectivity pays for this certificate: order its renewal from the certification "
                     "authority, then send the new certificate to the department."))
    lines = [_l("Hello,"), "", first, "",
             _l("Holder: %(holder)s — serial number: %(serial)s.", holder=acc.certificate_holder or "—",
                serial=acc.certificate_serial or "—"), payer]
    if any(m.collectivity.kind == "department" for m in person.memberships):
        lines += ["", _l("The collectivity's TdT account:"),
                  absolute_url("actes_department.collectivity", collectivity_id=coll.id)]
    queue_email(person.email, _l("TdT certificate of %(collectivity)s: expires on %(date)s", collectivity=coll.name,
                                 date=date), "actes/message", locale=person.locale, lines=lines)
