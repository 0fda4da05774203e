"""The e-mail digest of the news: each person chooses daily, weekly or never (weekly until they choose); a Celery beat
task (``desk.send_digests``, every hour) writes one outbox message per person who is due and has something new.

What a person gets is what they may read: the news of each collectivity they belong to, read through the audience
filter as that collectivity (``portal.audiences.audience_scope``), never a hand-written audience rule. Each message
carries a signed one-click unsubscribe link (the page with one button) and the RFC 8058 ``List-Unsubscribe`` headers.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audiences import Viewer, audience_scope
from portal.extensions import db
from portal.mail import queue_email
from portal.models import Membership, User, utcnow
from portal.urls import absolute_url

from .models import DigestChoice, NewsItem
from .operations import due_since

log = logging.getLogger(__name__)
_SALT = "desk-digest-unsubscribe"
DIGEST_KINDS = ("commune", "epci", "partner")  # the department writes the news; it gets no digest of them
MAX_ITEMS = 20  # a digest lists the newest 20 and says how many more are on the portal


def unsubscribe_token(user_id: int) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT).dumps({"u": user_id})


def user_of_token(token: str) -> int | None:
    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT).loads(token)
    except BadSignature:
        return None
    return data.get("u") if isinstance(data, dict) and isinstance(data.get("u"), int) else None


def news_for(user: User, since: dt.datetime) -> tuple[list[NewsItem], int]:
    """The newest news (at most ``MAX_ITEMS``) published after ``since`` that one of the person's collectivities may
    read, and how many there are in all. Ids and dates are read as each collectivity (the audience filter); the
    items shown are then loaded by id."""
    found: dict[int, dt.datetime] = {}
    for membership in user.memberships:
        if membership.collectivity.kind not in DIGEST_KINDS:
            continue
        with audience_scope(Viewer.of(membership.collectivity)):
            found.update(db.session.execute(select(NewsItem.id, NewsItem.published_at)
                                            .where(NewsItem.published_at > since)).tuples().all())
    newest = sorted(found, key=lambda i: found[i], reverse=True)[:MAX_ITEMS]
    with audience_scope(None):  # ids the person's collectivities were allowed just above
        items = db.session.scalars(select(NewsItem).where(NewsItem.id.in_(newest))).all() if newest else []
    return sorted(items, key=lambda n: n.published_at, reverse=True), len(found)


def send_digests(now: dt.datetime | None = None) -> dict[str, int]:
    """Queue the digests due at ``now``; returns counts (sent, nothing_new). Safe to run again: a person whose digest
    went is not due until their next period."""
    now = now or utcnow()
    counts = {"sent": 0, "nothing_new": 0}
    users = db.session.scalars(
        select(User).where(User.status == "active", User.memberships.any(
            Membership.collectivity.has(kind=DIGEST_KINDS[0]) | Membership.collectivity.has(kind=DIGEST_KINDS[1])
            | Membership.collectivity.has(kind=DIGEST_KINDS[2])))
        .options(selectinload(User.memberships).selectinload(Membership.collectivity)).order_by(User.id)).all()
    choices = {c.user_id: c for c in db.session.scalars(select(DigestChoice))}
    for user in users:
        choice = choices.get(user.id) or DigestChoice(user_id=user.id, frequency="weekly")
        since = due_since(choice, now)
        if since is None:
            continue
        items, total = news_for(user, since)
        if items:
            _queue(user, choice, items, total)
            counts["sent"] += 1
        else:
            counts["nothing_new"] += 1
        if choice.user_id not in choices:
            db.session.add(choice)
        choice.last_sent_at = now
        db.session.commit()
    log.info("desk digests: %s", counts)
    return counts


def _queue(user: User, choice: DigestChoice, items: list[NewsItem], total: int) -> None:
    token = unsubscribe_token(user.id)
    link = absolute_url("desk_public.unsubscribe", token=token)
    one_click = absolute_url("desk_public.one_click", token=token)
    subject = (_l("News of the extranet: today") if choice.frequency == "daily"
               else _l("News of the extranet: this week"))
    row = queue_email(user.email, subject, "desk/digest", locale=user.locale, user=user, items=items,
                      more=total - len(items), unsubscribe_link=link, frequency=choice.frequency,
                      news_link=absolute_url("desk.news_list"))
    row.headers = {"List-Unsubscribe": f"<{one_click}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
