"""The e-mail digest of the news: each person chooses daily, weekly or never (weekly until they choose); a Celery beat
task (``desk.send_digests``, every hour) writes one outbox message per person who is due and has something new.

What a person gets is what they may read: the news of each collectivity they belong to, read through the audience
filter as that collectivity (``portal.audiences.audience_scope``), never a hand-written audience rule. Each message
carries a signed one-click unsubscribe link (the page with one button) and the RFC 8058 ``List-Unsubscribe`` headers.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.audiences import LIST, Audience, Viewer, audience_scope, may_read
from portal.extensions import db
from portal.mail import BATCH as MAIL_BATCH
from portal.identity import identity_code_of
from portal.mail import deliver_emails, queue_rendered, render_email
from portal.outbox import enqueue_after_commit
from portal.models import Collectivity, Membership, User, utcnow
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
            Membership.collectivity.has(Collectivity.kind.in_(DIGEST_KINDS))))
        .options(selectinload(User.memberships).selectinload(Membership.collectivity).options(
            # what Viewer.of reads of each collectivity (its EPCI, its convention and switches): loaded here for all
            # at once instead of two lazy loads per collectivity
            selectinload(Collectivity.epcis), selectinload(Collectivity.conventions),
            selectinload(Collectivity.activations)))
        .order_by(User.id)).all()
    choices = {c.user_id: c for c in db.session.scalars(select(DigestChoice))}
    due = []
    for user in users:
        choice = choices.get(user.id) or DigestChoice(user_id=user.id, frequency="weekly")
        since = due_since(choice, now)
        if since is not None:
            due.append((user, choice, since))
    visible = _visible_news(due)
    # What the batches need of each person, read now: each batch's commit expires the ORM objects, and reading
    # them again afterwards would cost a statement per person.
    people = [_Recipient(user.id, user.email, user.locale, choice.frequency, user.id in choices,
                         [m.collectivity_id for m in user.memberships], since, _identity_of(user))
              for user, choice, since in due]
    rendered: dict = {}  # one rendering per distinct digest (see _queue)
    for start in range(0, len(people), BATCH):
        batch = people[start:start + BATCH]
        wanted: list[tuple[_Recipient, list[int], int]] = []
        for person in batch:
            found: dict[int, dt.datetime] = {}
            for collectivity_id in person.collectivity_ids:
                for news_id, published_at in visible.get(collectivity_id, ()):
                    if published_at <= person.since:
                        break  # newest first
                    found[news_id] = published_at
            newest = sorted(found, key=lambda i: found[i], reverse=True)[:MAX_ITEMS]
            wanted.append((person, newest, len(found)))
        ids = {i for _, newest, _ in wanted for i in newest}
        with audience_scope(None):  # ids the persons' collectivities were allowed in _visible_news
            items = {n.id: n for n in db.session.scalars(select(NewsItem).where(NewsItem.id.in_(ids)))} if ids else {}
        emails = []
        for person, newest, total in wanted:
            if newest:
                emails.append(_queue(person, [items[i] for i in newest], total, rendered))
                counts["sent"] += 1
            else:
                counts["nothing_new"] += 1
        # « last sent » of the batch, set-wise: an UPDATE for those who chose, the default choice for the others
        chose = [p.user_id for p in batch if p.has_choice]
        if chose:
            db.session.execute(update(DigestChoice).where(DigestChoice.user_id.in_(chose))
                               .values(last_sent_at=now).execution_options(synchronize_session=False))
        db.session.add_all(DigestChoice(user_id=p.user_id, frequency="weekly", last_sent_at=now)
                           for p in batch if not p.has_choice)
        db.session.flush()  # the batch's outbox rows in one multi-row INSERT
        enqueue_after_commit(deliver_emails, *(e.id for e in emails), batch=MAIL_BATCH)
        db.session.commit()
    log.info("desk digests: %s", counts)
    return counts


def _identity_of(user: User) -> str | None:
    """``portal.mail.user_identity_code`` on the memberships already loaded: the first collectivity's identity."""
    first = min(user.memberships, key=lambda m: m.id, default=None)
    return identity_code_of(first.collectivity) if first is not None else None


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
    # Many news share what the rule looks at (audience kind, EPCI, service, list, publisher): the rule is asked once
    # per such group and viewer, on one of the group's rows.
    keyed = [(_group_key(n), n.id, n.published_at) for n in news]
    first: dict[tuple, NewsItem] = {}
    for (key, _, _), n in zip(keyed, news):
        first.setdefault(key, n)
    out = {}
    for cid, viewer in viewers.items():
        allowed = {key for key, row in first.items() if may_read(row, viewer)}
        out[cid] = [(news_id, published_at) for key, news_id, published_at in keyed if key in allowed]
    return out


def _group_key(n: NewsItem) -> tuple:
    audience = n.audience
    return (audience.kind, audience.epci_id, audience.service_slug, n.publisher_id, audience.department_code,
            tuple(sorted(m.id for m in audience.members)) if audience.kind == LIST else ())


UNSUBSCRIBE_MARK = "desk-digest-unsubscribe-link-0b7e"  # where each person's own link goes in a shared rendering


@dataclass(frozen=True)
class _Recipient:
    user_id: int
    email: str
    locale: str | None
    frequency: str
    has_choice: bool  # a DigestChoice row exists (else the default, weekly, is written with the first digest)
    collectivity_ids: list[int]
    since: dt.datetime
    identity_code: str | None  # the département (or operator) whose name and footer the e-mail wears


def _queue(user: _Recipient, items: list[NewsItem], total: int, rendered: dict | None = None):
    """The person's digest in the outbox. People who get the same news (most of one commune) share one rendering
    (``rendered``, kept by the caller for a run), only the unsubscribe link being their own."""
    token = unsubscribe_token(user.user_id)
    link = absolute_url("desk_public.unsubscribe", token=token)
    one_click = absolute_url("desk_public.one_click", token=token)
    subject = (_l("News of the extranet: today") if user.frequency == "daily"
               else _l("News of the extranet: this week"))
    identity_code = user.identity_code  # the recipient's département's name and footer
    key = (tuple(n.id for n in items), total, user.frequency, user.locale, identity_code)
    if rendered is None or key not in rendered:
        body = render_email("desk/digest", locale=user.locale, identity_code=identity_code, items=items,
                            more=total - len(items), unsubscribe_link=UNSUBSCRIBE_MARK, frequency=user.frequency,
                            news_link=absolute_url("desk.news_list"))
        if rendered is not None:
            rendered[key] = body
    else:
        body = rendered[key]
    text, html = (part.replace(UNSUBSCRIBE_MARK, link) if part is not None else None for part in body)
    row = queue_rendered(user.email, subject, text, html, locale=user.locale, deliver=False, flush=False,
                         identity_code=identity_code)
    row.headers = {**row.headers, "List-Unsubscribe": f"<{one_click}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return row
