"""Companies' alerts on new consultations, and the secure exchanges between the buyer and one candidate.

- **Alerts** (:class:`CompanyAlert`): a company signed in on the public pages asks to be told of every new
  consultation whose CPV code starts with a prefix (« 45 » all works, « 4526 » roofing…) and whose place of
  execution is in a département or a commune (INSEE code prefix; empty: anywhere). At publication
  (:func:`alert_companies`) each matching company gets one e-mail through the outbox.
- **Exchanges** (:class:`Exchange`): after the opening, the buyer asks one candidate for clarification of its offer
  or for missing documents (R2144-2 regularisation, R2152-2…), with a reply deadline (in the time zone of the buyer's département). The request and
  the reply are time-stamped by the server clock (UTC); the candidate answers on its own page, signed in, with a
  text and optionally a file (checked by content like the bids); the buyer sees both. Nobody else sees them.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.identity import zone_for
from portal.urls import absolute_url
from portal.uploads import UploadRejected

from . import documents, storage
from .companies import Company
from .deposits import UTC, Bid, now_utc
from .models import Tender

log = logging.getLogger(__name__)

KINDS = {"clarification": "Demande de précisions sur l'offre", "missing": "Demande de pièces manquantes",
         "price": "Demande de justification du prix (offre anormalement basse)"}
MAX_ALERTS = 20


class CompanyAlert(db.Model):
    __tablename__ = "tender_company_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("tender_company.id", ondelete="CASCADE"), index=True)
    cpv_prefix: Mapped[str] = mapped_column(String(8), default="")
    place_prefix: Mapped[str] = mapped_column(String(5), default="")  # département (2-3) or commune INSEE (5)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Exchange(db.Model):
    __tablename__ = "tender_exchange"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("tender_bid.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    reply_deadline: Mapped[dt.datetime] = mapped_column(DateTime)  # Paris wall-clock
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC
    reply_filename: Mapped[str] = mapped_column(String(200), default="")
    reply_key: Mapped[str | None] = mapped_column(String(200))
    reply_sha256: Mapped[str] = mapped_column(String(64), default="")
    reply_size: Mapped[int | None] = mapped_column(Integer)
    bid: Mapped[Bid] = relationship()

    @property
    def zone(self):
        """The legal time of the buyer's département, in which the reply deadline is typed (portal.identity)."""
        return zone_for(db.session.get(Tender, self.tender_id).collectivity)

    @property
    def sent_paris(self) -> dt.datetime:
        return self.sent_at.replace(tzinfo=UTC).astimezone(self.zone)

    @property
    def replied_paris(self) -> dt.datetime | None:
        return self.replied_at.replace(tzinfo=UTC).astimezone(self.zone) if self.replied_at else None

    def open_for_reply(self, now: dt.datetime | None = None) -> bool:
        now = now or now_utc()
        return self.replied_at is None and now < self.reply_deadline.replace(tzinfo=self.zone).astimezone(UTC)


# Alerts -----------------------------------------------------------------------------------------------------------

def add_alert(company: Company, form) -> dict[str, str]:
    from flask_babel import gettext as _

    cpv = re.sub(r"\s", "", form.get("cpv_prefix", ""))
    place = re.sub(r"\s", "", form.get("place_prefix", "")).upper()
    errors = {}
    if not re.fullmatch(r"[0-9]{2,8}", cpv):
        errors["cpv_prefix"] = _("Enter the first 2 to 8 digits of a CPV code (e.g. 45 for all works).")
    if place and not re.fullmatch(r"[0-9][0-9AB][0-9]{0,3}", place):
        errors["place_prefix"] = _("Enter a département number (10) or a commune's INSEE code (10387), or nothing.")
    count = db.session.scalar(select(db.func.count(CompanyAlert.id)).where(CompanyAlert.company_id == company.id))
    if count >= MAX_ALERTS:
        errors["cpv_prefix"] = _("At most %(n)d alerts per company.", n=MAX_ALERTS)
    if not errors:
        db.session.add(CompanyAlert(company_id=company.id, cpv_prefix=cpv, place_prefix=place,
                                    created_at=now_utc().replace(tzinfo=None)))
    return errors


def alerts_of(company: Company) -> list[CompanyAlert]:
    return db.session.scalars(select(CompanyAlert).where(CompanyAlert.company_id == company.id)
                              .order_by(CompanyAlert.id)).all()


def matches(alert: CompanyAlert, t: Tender) -> bool:
    """CPV code prefix, and place: the INSEE code of the place of execution (the buyer's own when the wizard has
    none), or the buyer's département."""
    cpv = (t.cpv_code or "").replace("-", "")
    if not cpv.startswith(alert.cpv_prefix):
        return False
    if not alert.place_prefix:
        return True
    insee = t.place_insee or getattr(t.collectivity, "insee", None) or ""
    return insee.startswith(alert.place_prefix) or (
        len(alert.place_prefix) <= 3 and getattr(t.collectivity, "department_code", None) == alert.place_prefix)


def alert_companies(t: Tender) -> int:
    """E-mail every confirmed company with an alert matching the newly published consultation (once each)."""
    link = absolute_url("tenders_public.detail", tender_id=t.id)
    told = set()
    for alert, company in db.session.execute(select(CompanyAlert, Company).join(
            Company, Company.id == CompanyAlert.company_id).where(Company.confirmed_at.is_not(None))).all():
        if company.id in told or not matches(alert, t):
            continue
        told.add(company.id)
        lines = [_l("Hello,"), "",
                 _l("A new consultation matches your alert (CPV %(cpv)s%(place)s): « %(title)s », by %(buyer)s; "
                    "deadline for bids %(deadline)s, %(zone)s.", cpv=alert.cpv_prefix, zone=t.zone_label,
                    place=f", {alert.place_prefix}" if alert.place_prefix else "", title=t.title,
                    buyer=t.collectivity.name, deadline=t.reception_deadline.strftime("%d/%m/%Y %H:%M")),
                 "", link, "", _l("Your alerts are on the page of your company account.")]
        queue_email(company.email, _l("New consultation: %(title)s", title=t.title[:80]), "tenders/message",
                    lines=lines)
    log.info("tenders: publication of tender %s announced to %d companies", t.id, len(told))
    return len(told)


# Exchanges --------------------------------------------------------------------------------------------------------

def ask(t: Tender, bid: Bid, form, user_id: int | None) -> tuple[Exchange | None, dict[str, str]]:
    """A request to one candidate (not committed), e-mailed to it; or the French errors by field."""
    from flask_babel import gettext as _

    from .schemas import parse_datetime

    errors = {}
    kind = form.get("kind", "")
    message = form.get("message", "").strip()
    if kind not in KINDS:
        errors["kind"] = _("Choose what you ask.")
    if not message:
        errors["message"] = _("Write your request.")
    elif len(message) > 5000:
        errors["message"] = _("The request is too long (5 000 characters at most).")
    try:
        deadline = parse_datetime(form.get("reply_deadline", ""))
    except ValueError:
        deadline = None
    now = now_utc()
    if deadline is None:
        errors["reply_deadline"] = _("Enter the date and time by which the company must answer.")
    elif deadline.replace(tzinfo=zone_for(t.collectivity)) <= now:
        errors["reply_deadline"] = _("The reply deadline must be in the future.")
    if errors:
        return None, errors
    ex = Exchange(tender_id=t.id, bid_id=bid.id, kind=kind, message=message, sent_at=now.replace(tzinfo=None),
                  reply_deadline=deadline, sent_by_id=user_id)
    ex.bid = bid
    db.session.add(ex)
    db.session.flush()
    audit.record("tenders.exchange_sent", target=t, bid=bid.number, company_siret=bid.company.siret, kind=kind)
    link = absolute_url("tenders_public.exchanges", tender_id=t.id)
    lines = [_l("Hello,"), "",
             _l("The buyer %(buyer)s sends you a request about your offer for the consultation « %(title)s »: "
                "answer it before %(deadline)s, %(zone)s, on the page of the consultation (signed in).", zone=t.zone_label,
                buyer=t.collectivity.name, title=t.title, deadline=deadline.strftime("%d/%m/%Y %H:%M")),
             "", KINDS[kind], "", message, "", link]
    queue_email(bid.company.email, _l("Request of the buyer: %(title)s", title=t.title[:80]), "tenders/message",
                lines=lines)
    return ex, {}


def reply(ex: Exchange, text: str, upload: tuple[str, bytes] | None) -> dict[str, str]:
    """The candidate's reply (not committed), time-stamped; or the French errors."""
    from flask_babel import gettext as _

    errors = {}
    text = (text or "").strip()
    if not ex.open_for_reply():
        errors["reply"] = _("The reply deadline has passed (%(d)s, %(zone)s), or you already answered.",
                            zone=db.session.get(Tender, ex.tender_id).zone_label,
                            d=ex.reply_deadline.strftime("%d/%m/%Y %H:%M"))
    elif not text and not upload:
        errors["reply"] = _("Write your answer or add a file.")
    elif len(text) > 10000:
        errors["reply"] = _("The answer is too long (10 000 characters at most).")
    if upload and not errors:
        name, data = upload
        try:
            storage.check_attachment(data, name)
        except UploadRejected as exc:
            errors["file"] = f"{name}\u00a0: {exc.message_fr}"
        else:
            stored = storage.save_for(db.session, "exchanges", ex.tender_id, data)
            ex.reply_filename, ex.reply_key = documents.safe_name(name), stored.key
            ex.reply_sha256, ex.reply_size = stored.sha256, stored.size
    if errors:
        return errors
    ex.reply, ex.replied_at = text, now_utc().replace(tzinfo=None)
    t = db.session.get(Tender, ex.tender_id)
    audit.record("tenders.exchange_answered", target=t, collectivity=t.collectivity, bid=ex.bid.number,
                 kind=ex.kind)
    return {}


def exchanges_of(t: Tender, bid: Bid | None = None) -> list[Exchange]:
    stmt = select(Exchange).where(Exchange.tender_id == t.id)
    if bid is not None:
        stmt = stmt.where(Exchange.bid_id == bid.id)
    return db.session.scalars(stmt.order_by(Exchange.sent_at, Exchange.id)).all()
