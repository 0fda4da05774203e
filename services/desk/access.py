"""Who may do what on the information desk, and the lookups the views use (``*_or_404``).

Reading goes through the audience filter (``portal.audiences``): a news item a collectivity is not addressed to does
not exist for it (404). Editing is for the organisation that published it, or the department (moderation).
"""
from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from portal.extensions import db

from .models import NewsItem

READ = "desk.read"
PUBLISH = "desk.publish"
MODERATE = "desk.moderate"
PARTNERS = "desk.partners.manage"


def news_or_404(news_id: int) -> NewsItem:
    item = db.session.scalar(select(NewsItem).where(NewsItem.id == news_id))
    if item is None:
        abort(404)
    return item


def may_edit(item: NewsItem) -> bool:
    perms = g.get("permissions", set())
    collectivity = g.get("collectivity")
    if collectivity is None:
        return False
    return (PUBLISH in perms and item.publisher_id == collectivity.id) or MODERATE in perms


def editable_news_or_404(news_id: int) -> NewsItem:
    item = news_or_404(news_id)
    if not may_edit(item):
        abort(403)
    return item


# Forum ---------------------------------------------------------------------------------------------------------------
FORUM = "desk.forum.post"


def thread_or_404(thread_id: int):
    """A thread the active collectivity may read (audience filter); hidden ones exist for moderators only."""
    from .models import ForumThread

    thread = db.session.scalar(select(ForumThread).where(ForumThread.id == thread_id))
    if thread is None or (thread.hidden and MODERATE not in g.get("permissions", set())):
        abort(404)
    return thread


def post_or_404(thread, post_id: int):
    """A message of ``thread`` (reached through its thread, never alone)."""
    from .models import ForumPost

    post = db.session.get(ForumPost, post_id)
    if post is None or post.thread_id != thread.id:
        abort(404)
    return post


def may_mark_solution(thread, user_id: int) -> bool:
    return thread.author_id == user_id or MODERATE in g.get("permissions", set())


# Job offers, directory, agenda -----------------------------------------------------------------------------------
JOBS = "desk.jobs.publish"
DIRECTORY = "desk.directory.edit"
EVENTS = "desk.events.publish"


def _publisher_may(item, permission: str) -> bool:
    perms = g.get("permissions", set())
    collectivity = g.get("collectivity")
    if collectivity is None:
        return False
    return (permission in perms and item.publisher_id == collectivity.id) or MODERATE in perms


def offer_or_404(offer_id: int):
    """A job offer the viewer may read (audience filter), open or closed."""
    from .models_public import JobOffer

    offer = db.session.scalar(select(JobOffer).where(JobOffer.id == offer_id))
    if offer is None:
        abort(404)
    return offer


def may_edit_offer(offer) -> bool:
    return _publisher_may(offer, JOBS)


def editable_offer_or_404(offer_id: int):
    offer = offer_or_404(offer_id)
    if not may_edit_offer(offer):
        abort(403)
    return offer


def event_or_404(event_id: int):
    from .models_public import Event

    event = db.session.scalar(select(Event).where(Event.id == event_id))
    if event is None:
        abort(404)
    return event


def may_edit_event(event) -> bool:
    return _publisher_may(event, EVENTS)


def editable_event_or_404(event_id: int):
    event = event_or_404(event_id)
    if not may_edit_event(event):
        abort(403)
    return event
