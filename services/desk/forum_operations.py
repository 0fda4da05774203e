"""Writes of the forum, shared by the pages and the tests (no ``flask.request`` here): questions, answers, the
solution, following a thread (an e-mail to the followers at each answer), reports, and the department's moderation
(hide, lock, move). Every one of them is audited."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from portal import audit
from portal.audiences import new_audience
from portal.extensions import db
from portal.mail import queue_email
from portal.models import Collectivity, User, utcnow
from portal.urls import absolute_url

from .models import ForumCategory, ForumFollow, ForumPost, ForumReport, ForumThread
from . import search
from .operations import DeskError
from .sanitize import clean, text_of


def reindex(thread: ForumThread) -> None:
    """The thread in the search index: its title, then its visible messages; a hidden thread is not searchable."""
    if thread.hidden:
        search.unindex("thread", thread.id)
        return
    posts = db.session.scalars(select(ForumPost).where(ForumPost.thread_id == thread.id, ForumPost.hidden.is_(False))
                               .order_by(ForumPost.id)).all()
    search.index("thread", thread.id, title=thread.title, body="\n".join(p.body_text for p in posts),
                 audience=thread.audience, publisher_id=thread.publisher_id, published_at=thread.created_at)


def _body(raw: str) -> str:
    body = clean(raw)
    if not text_of(body).strip():
        raise DeskError(_("Write your message."))
    return body


def create_category(name: str, description: str, *, by: User, department: Collectivity) -> ForumCategory:
    name = (name or "").strip()
    if not name:
        raise DeskError(_("Give the category a name."))
    # The département's categories and the platform's (a uniqueness rule, spelled out so that it holds in the
    # system context too, where the audience filter does not narrow).
    same = or_(ForumCategory.department_code == department.department_code, ForumCategory.department_code.is_(None))
    if db.session.scalar(select(ForumCategory.id).where(ForumCategory.name == name, same)):
        raise DeskError(_("This category already exists."))
    position = (db.session.scalar(select(db.func.max(ForumCategory.position)).where(same)) or 0) + 1
    category = ForumCategory(name=name, description=(description or "").strip()[:300], position=position,
                             department_code=department.department_code)
    db.session.add(category)
    db.session.flush()
    audit.record("desk.forum_category_created", target=category, collectivity=department, user=by, name=name)
    return category


def ask(category: ForumCategory, title: str, body: str, *, author: User, collectivity: Collectivity) -> ForumThread:
    """A new thread (addressed to every member of the desk) and its first message; the author follows it."""
    title = (title or "").strip()
    if not title:
        raise DeskError(_("Give your question a title."))
    thread = ForumThread(category_id=category.id, title=title[:200], author_id=author.id,
                         publisher_id=collectivity.id, audience=new_audience("all"))
    db.session.add(thread)
    db.session.flush()
    db.session.add(ForumPost(thread_id=thread.id, author_id=author.id, collectivity_id=collectivity.id,
                             body_html=_body(body)))
    db.session.add(ForumFollow(user_id=author.id, thread_id=thread.id))
    db.session.flush()
    reindex(thread)
    audit.record("desk.forum_thread_created", target=thread, collectivity=collectivity, user=author, title=thread.title)
    return thread


def answer(thread: ForumThread, body: str, *, author: User, collectivity: Collectivity) -> ForumPost:
    if thread.locked:
        raise DeskError(_("This thread is locked: no more answers."))
    post = ForumPost(thread_id=thread.id, author_id=author.id, collectivity_id=collectivity.id, body_html=_body(body))
    db.session.add(post)
    thread.last_post_at = utcnow()
    db.session.flush()
    reindex(thread)
    audit.record("desk.forum_answered", target=post, collectivity=collectivity, user=author, title=thread.title)
    _tell_followers(thread, post, author)
    return post


def _tell_followers(thread: ForumThread, post: ForumPost, author: User) -> None:
    followers = db.session.scalars(select(User).join(ForumFollow, ForumFollow.user_id == User.id).where(
        ForumFollow.thread_id == thread.id, User.id != author.id, User.status == "active")).all()
    link = absolute_url("desk.forum_thread", thread_id=thread.id)
    for user in followers:
        queue_email(user.email, _l("New answer: %(title)s", title=thread.title), "desk/forum_answer",
                    locale=user.locale, thread=thread, post=post, link=link,
                    unfollow_link=link + "#suivre")


def set_following(thread: ForumThread, user: User, follow: bool) -> None:
    row = db.session.scalar(select(ForumFollow).where(ForumFollow.thread_id == thread.id,
                                                      ForumFollow.user_id == user.id))
    if follow and row is None:
        db.session.add(ForumFollow(user_id=user.id, thread_id=thread.id))
    elif not follow and row is not None:
        db.session.delete(row)
    db.session.flush()


def mark_solution(thread: ForumThread, post: ForumPost, *, by: User) -> None:
    thread.solution_post_id = post.id
    db.session.flush()
    audit.record("desk.forum_solution", target=thread, collectivity=thread.publisher, user=by, title=thread.title)


def report(post: ForumPost, reason: str, *, by: User, collectivity: Collectivity) -> ForumReport:
    reason = (reason or "").strip()
    if not reason:
        raise DeskError(_("Say why you report this message."))
    row = ForumReport(post_id=post.id, user_id=by.id, reason=reason[:500])
    db.session.add(row)
    db.session.flush()
    audit.record("desk.forum_reported", target=post, collectivity=collectivity, user=by, reason=row.reason)
    return row


def moderate_thread(thread: ForumThread, action: str, *, by: User, department: Collectivity,
                    category: ForumCategory | None = None) -> None:
    """``hide`` / ``show`` / ``lock`` / ``unlock`` / ``move`` (to ``category``)."""
    if action in ("hide", "show"):
        thread.hidden = action == "hide"
    elif action in ("lock", "unlock"):
        thread.locked = action == "lock"
    elif action == "move" and category is not None:
        thread.category_id = category.id
    else:
        raise DeskError(_("Choose a moderation action."))
    db.session.flush()
    reindex(thread)
    audit.record("desk.forum_moderated", target=thread, collectivity=department, user=by, action_taken=action,
                 title=thread.title)


def moderate_post(post: ForumPost, hide: bool, *, by: User, department: Collectivity) -> None:
    post.hidden = hide
    for row in db.session.scalars(select(ForumReport).where(ForumReport.post_id == post.id,
                                                            ForumReport.resolved_at.is_(None))):
        row.resolved_at = utcnow()
    db.session.flush()
    reindex(db.session.get(ForumThread, post.thread_id))
    audit.record("desk.forum_moderated", target=post, collectivity=department, user=by,
                 action_taken="hide_post" if hide else "show_post")
