"""The forum's pages (on the desk's blueprint, ``/s/desk/forum``): categories, threads, answers, the solution,
following, reports and the department's moderation. Threads come through the audience filter (access.py)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db
from portal.forms import ConfirmForm
from portal.lookups import get_or_404
from portal.registry import requires

from .. import forum_operations as forum
from ..access import FORUM, MODERATE, READ, may_mark_solution, post_or_404, thread_or_404
from ..models import ForumCategory, ForumFollow, ForumPost, ForumThread
from ..operations import DeskError
from ..schemas import AnswerForm, ModerationForm, ReportForm, ThreadForm
from .pages import bp

THREADS_PER_PAGE = 50


def _visible_threads():
    stmt = select(ForumThread)
    if MODERATE not in g.permissions:
        stmt = stmt.where(ForumThread.hidden.is_(False))  # moderation state, not an audience rule
    return stmt


@bp.get("/forum")
@requires(READ)
def forum_index():
    categories = db.session.scalars(select(ForumCategory).order_by(ForumCategory.position, ForumCategory.name)).all()
    counts = dict(db.session.execute(_visible_threads().with_only_columns(ForumThread.category_id, func.count())
                                     .group_by(ForumThread.category_id)).all())
    latest = db.session.scalars(_visible_threads().order_by(ForumThread.last_post_at.desc()).limit(10)).all()
    return render_template("desk/forum/index.html", categories=categories, counts=counts, latest=latest)


@bp.get("/forum/<int:category_id>")
@requires(READ)
def forum_category(category_id: int):
    category = get_or_404(ForumCategory, category_id)
    threads = db.session.scalars(_visible_threads().where(ForumThread.category_id == category.id)
                                 .order_by(ForumThread.last_post_at.desc()).limit(THREADS_PER_PAGE)).all()
    return render_template("desk/forum/category.html", category=category, threads=threads)


@bp.route("/forum/<int:category_id>/nouveau", methods=["GET", "POST"])
@requires(FORUM)
def forum_ask(category_id: int):
    category = get_or_404(ForumCategory, category_id)
    form = ThreadForm()
    if form.validate_on_submit():
        try:
            thread = forum.ask(category, form.title.data, form.body.data, author=current_user,
                               collectivity=g.collectivity)
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            return redirect(url_for("desk.forum_thread", thread_id=thread.id))
    return render_template("desk/forum/ask.html", category=category, form=form), (400 if request.method == "POST"
                                                                                   else 200)


@bp.get("/forum/sujets/<int:thread_id>")
@requires(READ)
def forum_thread(thread_id: int):
    thread = thread_or_404(thread_id)
    posts = db.session.scalars(select(ForumPost).where(ForumPost.thread_id == thread.id)
                               .order_by(ForumPost.created_at, ForumPost.id)).all()
    following = db.session.scalar(select(ForumFollow.id).where(ForumFollow.thread_id == thread.id,
                                                               ForumFollow.user_id == current_user.id))
    moderation = ModerationForm()
    moderation.category.choices = [(str(c.id), c.name) for c in
                                   db.session.scalars(select(ForumCategory).order_by(ForumCategory.position))]
    return render_template("desk/forum/thread.html", thread=thread, posts=posts, following=following is not None,
                           answer_form=AnswerForm(), report_form=ReportForm(), confirm=ConfirmForm(),
                           moderation=moderation, may_solve=may_mark_solution(thread, current_user.id),
                           may_post=FORUM in g.permissions, may_moderate=MODERATE in g.permissions)


def _back(thread):
    return redirect(url_for("desk.forum_thread", thread_id=thread.id))


@bp.post("/forum/sujets/<int:thread_id>/repondre")
@requires(FORUM)
def forum_answer(thread_id: int):
    thread = thread_or_404(thread_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Write your message."), "error")
        return _back(thread)
    try:
        post = forum.answer(thread, form.body.data, author=current_user, collectivity=g.collectivity)
    except DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(thread)
    db.session.commit()
    return redirect(url_for("desk.forum_thread", thread_id=thread.id, _anchor=f"message-{post.id}"))


@bp.post("/forum/sujets/<int:thread_id>/suivre")
@requires(READ)
def forum_follow(thread_id: int):
    thread = thread_or_404(thread_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    forum.set_following(thread, current_user, request.form.get("follow") == "1")
    db.session.commit()
    return _back(thread)


@bp.post("/forum/sujets/<int:thread_id>/messages/<int:post_id>/solution")
@requires(READ)
def forum_solution(thread_id: int, post_id: int):
    thread = thread_or_404(thread_id)
    post = post_or_404(thread, post_id)
    if not may_mark_solution(thread, current_user.id):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    forum.mark_solution(thread, post, by=current_user)
    db.session.commit()
    flash(_("The answer is marked as the solution."), "success")
    return _back(thread)


@bp.post("/forum/sujets/<int:thread_id>/messages/<int:post_id>/signaler")
@requires(FORUM)
def forum_report(thread_id: int, post_id: int):
    thread = thread_or_404(thread_id)
    post = post_or_404(thread, post_id)
    form = ReportForm()
    if form.validate_on_submit():
        forum.report(post, form.reason.data, by=current_user, collectivity=g.collectivity)
        db.session.commit()
        flash(_("Thank you: the department's moderators will read the message."), "success")
    else:
        flash(_("Say why you report this message."), "error")
    return _back(thread)


@bp.post("/forum/sujets/<int:thread_id>/moderer")
@requires(MODERATE)
def forum_moderate(thread_id: int):
    thread = thread_or_404(thread_id)
    form = ModerationForm()
    form.category.choices = [(str(c.id), c.name) for c in db.session.scalars(select(ForumCategory))]
    if not form.validate_on_submit():
        abort(400)
    category = db.session.get(ForumCategory, int(form.category.data)) if (form.category.data or "").isdigit() else None
    try:
        forum.moderate_thread(thread, form.action.data, by=current_user, department=g.collectivity, category=category)
    except DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _back(thread)
    db.session.commit()
    flash(_("The moderation is applied."), "success")
    return _back(thread)


@bp.post("/forum/sujets/<int:thread_id>/messages/<int:post_id>/masquer")
@requires(MODERATE)
def forum_hide_post(thread_id: int, post_id: int):
    thread = thread_or_404(thread_id)
    post = post_or_404(thread, post_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    forum.moderate_post(post, request.form.get("hide") == "1", by=current_user, department=g.collectivity)
    db.session.commit()
    return _back(thread)
