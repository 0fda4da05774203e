"""Writes and reads of the job offers (« bourse de l'emploi »), shared by the pages, the feed and the beat task.

An offer is published by the centre de gestion (a partner) or by a collectivity for itself, addressed to an audience
(by default the public: the public page and the Atom feed show it to anyone). It closes on its own at the end of its
closing day: :func:`close_expired` (beat task ``desk.close_job_offers``) records it, and every read of open offers
also compares the date (``JobOffer.open_clause``), so nobody sees an offer open after its day.

The national job site (« Choisir le service public », formerly « Place de l'emploi public ») has no address that can
be built from our data alone: an offer's page there is ``/offre-emploi/<title as slug>-reference-<its reference>/``,
with the title as typed on that site. So the publisher pastes the address of the offer there when it has one
(:data:`NATIONAL_OFFER_PREFIXES` checked); otherwise the link goes to the site's keyword search for the offer's title
(:func:`national_link`).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import quote

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from portal import audit
from portal.extensions import db
from portal.models import Collectivity, User, utcnow

from .models_public import JOB_CATEGORIES, JobOffer, today
from .operations import AudienceChoice, DeskError
from .sanitize import clean

log = logging.getLogger(__name__)

NATIONAL_SITE = "https://choisirleservicepublic.gouv.fr"
NATIONAL_OFFER_PREFIXES = ("https://choisirleservicepublic.gouv.fr/offre-emploi/",
                           "https://www.choisirleservicepublic.gouv.fr/offre-emploi/",
                           "https://place-emploi-public.gouv.fr/offre-emploi/",
                           "https://www.place-emploi-public.gouv.fr/offre-emploi/")
CLOSED_REASONS = ("date", "filled", "withdrawn")


def national_link(offer: JobOffer) -> tuple[str, bool]:
    """(address, exact): the offer on the national site when the publisher gave it, else a search of its title."""
    if offer.national_url:
        return offer.national_url, True
    words = " ".join(re.sub(r"[/\\?#%]+", " ", offer.title).split())
    return f"{NATIONAL_SITE}/nos-offres/filtres/mot-cles/{quote(words, safe='')}/", False


def _apply(offer: JobOffer, *, title: str, grade: str, category: str, full_time: bool, weekly_hours,
           commune_insee: str | None, place: str, closes_on: dt.date | None, description: str, contact: str,
           national_url: str) -> None:
    title = (title or "").strip()
    if not title:
        raise DeskError(_("Give the offer a title."))
    if category not in JOB_CATEGORIES:
        raise DeskError(_("Choose the category A, B or C."))
    if closes_on is None:
        raise DeskError(_("Give the closing date of the offer."))
    if not full_time:
        if weekly_hours is None or not 0 < float(weekly_hours) < 35:
            raise DeskError(_("A part-time job needs its weekly hours (between 1 and 34.5)."))
    national_url = (national_url or "").strip()
    if national_url and not (national_url.startswith(NATIONAL_OFFER_PREFIXES) and re.fullmatch(r"[^\s<>\"']+",
                                                                                                national_url)):
        raise DeskError(_("The address on the national job site must start with "
                          "https://choisirleservicepublic.gouv.fr/offre-emploi/."))
    if commune_insee:
        found = db.session.scalar(select(Collectivity.id).where(Collectivity.insee == commune_insee,
                                                                Collectivity.kind == "commune"))
        if found is None:
            raise DeskError(_("Unknown commune code: %(code)s.", code=commune_insee))
    offer.title = title[:200]
    offer.grade = (grade or "").strip()[:120]
    offer.category = category
    offer.full_time = bool(full_time)
    offer.weekly_hours = None if full_time else round(float(weekly_hours), 2)
    offer.commune_insee = commune_insee or None
    offer.place = (place or "").strip()[:200]
    offer.closes_on = closes_on
    offer.description_html = clean(description)
    offer.contact = (contact or "").strip()[:1000]
    offer.national_url = national_url[:500]


def publish_offer(*, publisher: Collectivity, author: User, audience: AudienceChoice, **fields) -> JobOffer:
    closes_on = fields.get("closes_on")
    if closes_on is not None and closes_on < today():
        raise DeskError(_("The closing date is already past."))
    offer = JobOffer(publisher_id=publisher.id, author_id=author.id)
    _apply(offer, **fields)
    offer.audience = audience.build()
    db.session.add(offer)
    db.session.flush()
    audit.record("desk.job_published", target=offer, collectivity=publisher, user=author, title=offer.title,
                 audience=audience.kind, closes_on=offer.closes_on.isoformat())
    return offer


def edit_offer(offer: JobOffer, *, author: User, audience: AudienceChoice, **fields) -> JobOffer:
    _apply(offer, **fields)
    old = offer.audience
    offer.audience = audience.build()
    if offer.closed_reason == "date" and offer.closes_on >= today():
        offer.closed_at, offer.closed_reason = None, ""  # the date was pushed back: open again
    db.session.flush()
    db.session.delete(old)
    audit.record("desk.job_edited", target=offer, collectivity=offer.publisher, user=author, title=offer.title,
                 audience=audience.kind, closes_on=offer.closes_on.isoformat())
    return offer


def close_offer(offer: JobOffer, *, author: User, reason: str) -> None:
    """Closed by its publisher before its date (the post is filled, or the offer withdrawn)."""
    if reason not in ("filled", "withdrawn"):
        raise DeskError(_("Choose why the offer closes."))
    if offer.closed_at is None:
        offer.closed_at, offer.closed_reason = utcnow(), reason
        audit.record("desk.job_closed", target=offer, collectivity=offer.publisher, user=author, title=offer.title,
                     reason=reason)
        db.session.flush()


def close_expired(on: dt.date | None = None) -> int:
    """Close the offers whose closing day is over (idempotent; one UPDATE). Returns how many closed."""
    result = db.session.execute(
        update(JobOffer).where(JobOffer.closed_at.is_(None), JobOffer.closes_on < (on or today()))
        .values(closed_at=utcnow(), closed_reason="date").execution_options(synchronize_session=False))
    if result.rowcount:
        log.info("job offers closed at their date: %d", result.rowcount)
    return result.rowcount or 0


def open_offers(limit: int = 200):
    """The open offers the current viewer may read (audience filter), closing soonest first."""
    return db.session.scalars(select(JobOffer).where(JobOffer.open_clause())
                              .order_by(JobOffer.closes_on, JobOffer.id).limit(limit)).all()


def offers_of(collectivity: Collectivity, limit: int = 50):
    """Open offers for a job in this commune, or published by this collectivity (its public page)."""
    where = JobOffer.publisher_id == collectivity.id
    if collectivity.insee:
        where = or_(where, JobOffer.commune_insee == collectivity.insee)
    return db.session.scalars(select(JobOffer).where(JobOffer.open_clause(), where)
                              .order_by(JobOffer.closes_on, JobOffer.id).limit(limit)).all()
