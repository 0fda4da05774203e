"""Writes of the information desk, shared by the pages, the CLI and the tasks (no ``flask.request`` here).

Every publication, edit and removal is audited in the publisher's name; partners are created by the department with
their first account (an activation link by e-mail, like a mayor's).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.accounts import invite
from portal.audiences import new_audience
from portal.extensions import db
from portal.models import KIND_PARTNER, Collectivity, User, fold
from portal.permissions import ROLE_PARTNER

from . import search
from .models import DIGEST_FREQUENCIES, DigestChoice, NewsItem, NewsRead
from .sanitize import clean, safe_url, text_of

log = logging.getLogger(__name__)


class DeskError(ValueError):
    """A refused operation; the message is for the person (French through the catalog)."""


@dataclass
class AudienceChoice:
    """What a form or the API says about an audience (see portal.audiences.KINDS)."""

    kind: str
    epci_id: int | None = None
    service_slug: str | None = None
    member_ids: tuple[int, ...] = ()

    def build(self):
        try:
            return new_audience(self.kind, epci_id=self.epci_id, service_slug=self.service_slug,
                                member_ids=self.member_ids)
        except ValueError as exc:
            log.info("audience refused: %s", exc)
            raise DeskError(_("Choose to whom the message is addressed (the EPCI, the service or the "
                              "collectivities of the list).")) from exc


def create_partner(name: str, email: str, full_name: str, *, by: User, department: Collectivity) -> Collectivity:
    """A partner organisation and its first publisher account (activation link by e-mail)."""
    name = (name or "").strip()
    if not name:
        raise DeskError(_("Give the partner's name."))
    if db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_PARTNER, Collectivity.name == name)):
        raise DeskError(_("A partner with this name already exists."))
    partner = Collectivity(kind=KIND_PARTNER, name=name, search_name=fold(name),
                           department_code=department.department_code, email=email)
    db.session.add(partner)
    db.session.flush()
    audit.record("desk.partner_created", target=partner, collectivity=department, user=by, name=name)
    invite(email, full_name, partner, ROLE_PARTNER, by, purpose="activation")
    return partner


def _apply(item: NewsItem, *, title: str, body: str, pinned: bool, document_url: str, document_title: str) -> None:
    title = (title or "").strip()
    if not title:
        raise DeskError(_("Give the news a title."))
    url = safe_url(document_url)
    if (document_url or "").strip() and not url:
        raise DeskError(_("The document's address must start with https:// or http://."))
    item.title = title[:200]
    item.body_html = clean(body)
    item.pinned = bool(pinned)
    item.document_url = url
    item.document_title = (document_title or "").strip()[:200] if url else ""


def publish_news(*, publisher: Collectivity, author: User, audience: AudienceChoice, title: str, body: str,
                 pinned: bool = False, document_url: str = "", document_title: str = "") -> NewsItem:
    item = NewsItem(publisher_id=publisher.id, author_id=author.id)
    _apply(item, title=title, body=body, pinned=pinned, document_url=document_url, document_title=document_title)
    item.audience = audience.build()
    db.session.add(item)
    db.session.flush()
    _index(item)
    audit.record("desk.news_published", target=item, collectivity=publisher, user=author, title=item.title,
                 audience=audience.kind)
    return item


def edit_news(item: NewsItem, *, author: User, audience: AudienceChoice, title: str, body: str, pinned: bool,
              document_url: str = "", document_title: str = "") -> NewsItem:
    _apply(item, title=title, body=body, pinned=pinned, document_url=document_url, document_title=document_title)
    old = item.audience
    item.audience = audience.build()
    db.session.flush()
    _index(item)
    db.session.delete(old)
    audit.record("desk.news_edited", target=item, collectivity=item.publisher, user=author, title=item.title,
                 audience=audience.kind)
    return item


def withdraw_news(item: NewsItem, *, author: User) -> None:
    audit.record("desk.news_withdrawn", target=item, collectivity=item.publisher, user=author, title=item.title)
    audience = item.audience
    search.unindex("news", item.id)
    db.session.delete(item)
    db.session.flush()
    db.session.delete(audience)


def _index(item: NewsItem) -> None:
    search.index("news", item.id, title=item.title, body=text_of(item.body_html), audience=item.audience,
                 publisher_id=item.publisher_id, published_at=item.published_at)


def mark_read(item: NewsItem, user: User) -> None:
    """Idempotent: a second mark changes nothing."""
    exists = db.session.scalar(select(NewsRead.id).where(NewsRead.user_id == user.id, NewsRead.news_id == item.id))
    if exists is None:
        db.session.add(NewsRead(user_id=user.id, news_id=item.id))
        db.session.flush()


def digest_choice(user_id: int) -> DigestChoice:
    """The person's choice (weekly when they never chose)."""
    choice = db.session.get(DigestChoice, user_id)
    if choice is None:
        choice = DigestChoice(user_id=user_id, frequency="weekly")
        db.session.add(choice)
    return choice


def set_digest_frequency(user: User, frequency: str, *, via: str = "profile") -> DigestChoice:
    if frequency not in DIGEST_FREQUENCIES:
        raise DeskError(_("Choose daily, weekly or never."))
    choice = digest_choice(user.id)
    if choice.frequency != frequency:
        choice.frequency = frequency
        audit.record("desk.digest_changed", target_type="User", target_id=user.id, user=user,
                     frequency=frequency, via=via)
    db.session.flush()
    return choice


def due_since(choice: DigestChoice, now: dt.datetime) -> dt.datetime | None:
    """Start of the period the next digest covers, or None when no digest is due now."""
    if choice.frequency == "never":
        return None
    period = dt.timedelta(days=1 if choice.frequency == "daily" else 7)
    if choice.last_sent_at is not None and now - choice.last_sent_at < period - dt.timedelta(hours=1):
        return None
    return choice.last_sent_at or now - period
