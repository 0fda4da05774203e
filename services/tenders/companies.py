"""Company accounts of the public tenders pages: the companies that deposit bids.

A company is not a portal user (it belongs to no collectivity and never enters the extranet): it has its own table,
its own sign-in on the public pages (``session["tenders_company"]``) and may deposit only once its e-mail address is
confirmed through the link it receives. The SIRET is checked for its format and its Luhn key (with La Poste's own
rule for its establishments, SIREN 356 000 000).
"""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import DateTime, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models import utcnow
from portal.security import check_password, hash_password, password_problems

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LA_POSTE_SIREN = "356000000"
CONFIRMATION_MAX_AGE = 48 * 3600  # seconds


class Company(db.Model):
    __tablename__ = "tender_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), index=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = int(c) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def siret_ok(siret: str) -> bool:
    """14 digits whose Luhn key is right (La Poste's establishments: the sum of the digits is a multiple of 5)."""
    if not re.fullmatch(r"[0-9]{14}", siret or ""):
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_SIREN + "00012":
        return sum(int(c) for c in siret) % 5 == 0
    return luhn_ok(siret)


def register(form) -> tuple[Company | None, dict]:
    """A new company account from the sign-up form (not committed), or the French errors by field."""
    errors = {}
    name = form.get("name", "").strip()[:300]
    siret = re.sub(r"\s", "", form.get("siret", ""))
    email = form.get("email", "").strip().lower()[:254]
    password = form.get("password", "")
    if not name:
        errors["name"] = _("Enter the name of the company.")
    if not re.fullmatch(r"[0-9]{14}", siret):
        errors["siret"] = _("The SIRET number has 14 digits.")
    elif not siret_ok(siret):
        errors["siret"] = _("This SIRET number is not valid (its check digit does not match): check it on your "
                            "Kbis or on annuaire-entreprises.data.gouv.fr.")
    if not EMAIL_RE.match(email):
        errors["email"] = _("Enter a valid e-mail address.")
    elif db.session.scalar(select(Company.id).where(func.lower(Company.email) == email)):
        errors["email"] = _("An account already uses this e-mail address: sign in instead.")
    problems = password_problems(password, (name, email))
    if problems:
        errors["password"] = " ".join(problems)
    if errors:
        return None, errors
    company = Company(name=name, siret=siret, email=email, password_hash=hash_password(password))
    db.session.add(company)
    db.session.flush()
    return company, {}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="tenders-company-confirm")


def confirmation_token(company: Company) -> str:
    return _serializer().dumps({"id": company.id, "email": company.email})


def confirm(token: str) -> Company | None:
    """The company whose address the link confirms (confirmed now), or None for a wrong or expired link."""
    try:
        data = _serializer().loads(token, max_age=CONFIRMATION_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    company = db.session.get(Company, data.get("id"))
    if company is None or company.email != data.get("email"):
        return None
    if company.confirmed_at is None:
        company.confirmed_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return company


def authenticate(email: str, password: str) -> Company | None:
    company = db.session.scalar(select(Company).where(func.lower(Company.email) == (email or "").strip().lower()))
    if company is None or not check_password(company, password):
        return None
    return company
