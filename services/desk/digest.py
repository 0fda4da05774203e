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

from portal.audiences import Audience, Viewer, audience_scope, may_read
from portal.extensions import db
from portal.mail import BATCH as MAIL_BATCH
from portal.mail import deliver_emails, queue_rendered, render_email, user_identity_code
from portal.outbox import enqueue_after_commit
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


BATCH = 200  # persons whose digests are written in one transaction and handed to the outbox together


def send_digests(now: dt.datetime | None = None) -> dict[str, int]:
    """Queue the digests due at ``now``; returns counts (sent, nothing_new). Safe to run again: a person whose digest
    went is not due until their next period.

    Batched: the news each collectivity may read are listed once per collectivity (not once per person), the items
    of a batch of :data:`BATCH` persons loaded in one query, and each batch is one transaction — its outbox rows and
    the persons' « last sent » dates commit together (a crash loses nothing and sends nothing twice: the batch is
    written again on the next run) — handed to ``portal.mail.deliver_emails``, which sends over one SMTP
    connection per ``portal.mail.BATCH`` messages."""
    now = now or utcnow()
    counts = {"sent": 0, "nothing_new": 0}
    users = db.session.scalars(
        select(User).where(User.status == "active", User.memberships.any(
            Membership.collectivity.has(kind=DIGEST_KINDS[0]) | Membership.collectivity.has(kind=DIGEST_KINDS[1])
            | Membership.collectivity.has(kind=DIGEST_KINDS[2])))
        .options(selectinload(User.memberships).selectinload(Membership.collectivity)).order_by(User.id)).all()
    choices = {c.user_id: c for c in db.session.scalars(select(DigestChoice))}
    due = []
    for user in users:
        choice = choices.get(user.id) or DigestChoice(user_id=user.id, frequency="weekly")
        since = due_since(choice, now)
        if since is not None:
            due.append((user, choice, since))
    visible = _visible_news(due)
    rendered: dict = {}  # one rendering per distinct digest (see _queue)
    for start in range(0, len(due), BATCH):
        batch = due[start:start + BATCH]
        wanted: list[tuple[User, DigestChoice, list[int], int]] = []
        for user, choice, since in batch:
            found: dict[int, dt.datetime] = {}
            for membership in user.memberships:
                for news_id, published_at in visible.get(membership.collectivity_id, ()):
                    if published_at <= since:
                        break  # newest first
                    found[news_id] = published_at
            newest = sorted(found, key=lambda i: found[i], reverse=True)[:MAX_ITEMS]
            wanted.append((user, choice, newest, len(found)))
        ids = {i for _, _, newest, _ in wanted for i in newest}
        with audience_scope(None):  # ids the persons' collectivities were allowed in _visible_news
            items = {n.id: n for n in db.session.scalars(select(NewsItem).where(NewsItem.id.in_(ids)))} if ids else {}
        email_ids = []
        for user, choice, newest, total in wanted:
            if newest:
                email_ids.append(_queue(user, choice, [items[i] for i in newest], total, rendered).id)
                counts["sent"] += 1
            else:
                counts["nothing_new"] += 1
            if choice.user_id not in choices:
                db.session.add(choice)
            choice.last_sent_at = now
        db.session.flush()
        enqueue_after_commit(deliver_emails, *email_ids, batch=MAIL_BATCH)
        db.session.commit()
    log.info("desk digests: %s", counts)
    return counts


def _visible_news(due) -> dict[int, list[tuple[int, dt.datetime]]]:
    """collectivity id → (news id, published at) it may read, newest first, published after the earliest start of
    the periods due. The news of the period are read once with their audiences, then each collectivity keeps those
    ``portal.audiences.may_read`` allows it (the audience rule of the query filter, applied to loaded rows)."""
    collectivities = {}
    for user, _choice, _since in due:
        for membership in user.memberships:
            if membership.collectivity.kind in DIGEST_KINDS:
                collectivities[membership.collectivity_id] = membership.collectivity
    if not collectivities:
        return {}
    earliest = min(since for _, _, since in due)
    with audience_scope(None):  # every news item of the period once; the rule is applied per viewer below
        news = db.session.scalars(select(NewsItem).where(NewsItem.published_at > earliest)
                                  .options(selectinload(NewsItem.audience).selectinload(Audience.members))
                                  .order_by(NewsItem.published_at.desc(), NewsItem.id.desc())).all()
        viewers = {cid: Viewer.of(c) for cid, c in collectivities.items()}
    return {cid: [(n.id, n.published_at) for n in news if may_read(n, viewer)] for cid, viewer in viewers.items()}


UNSUBSCRIBE_MARK = "desk-digest-unsubscribe-link-0b7e"  # where each person's own link goes in a shared rendering


def _queue(user: User, choice: DigestChoice, items: list[NewsItem], total: int, rendered: dict | None = None):
    """The person's digest in the outbox. People who get the same news (most of one commune) share one rendering
    (``rendered``, kept by the caller for a run), only the unsubscribe link being their own."""
    token = unsubscribe_token(user.id)
    link = absolute_url("desk_public.unsubscribe", token=token)
    one_click = absolute_url("desk_public.one_click", token=token)
    subject = (_l("News of the extranet: today") if choice.frequency == "daily"
               else _l("News of the extranet: this week"))
    identity_code = user_identity_code(user)  # the recipient's département's name and footer
    key = (tuple(n.id for n in items), total, choice.frequency, user.locale, identity_code)
    if rendered is None or key not in rendered:
        body = render_email("desk/digest", locale=user.locale, identity_code=identity_code, items=items,
                            more=total - len(items),
                            unsubscribe_link=UNSUBSCRIBE_MARK, frequency=choice.frequency,
                            news_link=absolute_url("desk.news_list"))
        if rendered is not None:
            rendered[key] = body
    else:
        body = rendered[key]
    text, html = (part.replace(UNSUBSCRIBE_MARK, link) if part is not None else None for part in body)
    row = queue_rendered(user.email, subject, text, html, locale=user.locale, deliver=False,
                         identity_code=identity_code)
    row.headers = {**row.headers, "List-Unsubscribe": f"<{one_click}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return row
