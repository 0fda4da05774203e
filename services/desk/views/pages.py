"""The desk's pages for signed-in people: the news (list, one item, Atom feed), publishing and editing, the digest
choice. Every query is narrowed by the audience filter; these views never say who may read what."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db
from portal.forms import ConfirmForm
from portal.registry import registry, requires

from . import PACKAGE
from .. import operations, search
from ..access import PUBLISH, READ, editable_news_or_404, may_edit, news_or_404
from ..models import NewsItem, NewsRead
from ..schemas import DigestForm, NewsForm

bp = Blueprint("desk", __name__, root_path=PACKAGE, template_folder="templates")

PAGE_SIZE = 50


def latest_news(limit: int):
    """The news the active collectivity may read, pinned first then newest."""
    return db.session.scalars(select(NewsItem).order_by(NewsItem.pinned.desc(), NewsItem.published_at.desc(),
                                                        NewsItem.id.desc()).limit(limit)).all()


def read_ids(user_id: int, items) -> set[int]:
    ids = [n.id for n in items]
    if not ids:
        return set()
    return set(db.session.scalars(select(NewsRead.news_id).where(NewsRead.user_id == user_id,
                                                                 NewsRead.news_id.in_(ids))))


def _subscribable_services():
    return [s for s in registry.all() if not s.core and s.deployed]


@bp.get("/")
@requires(READ)
def news_list():
    items = latest_news(PAGE_SIZE)
    return render_template("desk/news_list.html", items=items, read=read_ids(current_user.id, items),
                           may_publish=PUBLISH in g.permissions, may_edit=may_edit)


@bp.get("/actualites/<int:news_id>")
@requires(READ)
def news_item(news_id: int):
    item = news_or_404(news_id)
    if g.get("support") is None:  # the support mode reads, it marks nothing
        operations.mark_read(item, current_user)
        db.session.commit()
    return render_template("desk/news_item.html", item=item, may_edit=may_edit(item), form=ConfirmForm())


@bp.post("/actualites/<int:news_id>/lu")
@requires(READ)
def mark_read(news_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.mark_read(news_or_404(news_id), current_user)
    db.session.commit()
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("home.index"))


def _news_form(item: NewsItem | None = None) -> NewsForm:
    form = NewsForm(obj=item) if item is not None and request.method == "GET" else NewsForm()
    form.fill_choices(_subscribable_services())
    if item is not None and request.method == "GET":
        form.body.data = item.body_html
        form.show_audience(item.audience)
    return form


def _save(form: NewsForm, item: NewsItem | None):
    fields = dict(audience=form.audience_choice(), title=form.title.data, body=form.body.data or "",
                  pinned=form.pinned.data, document_url=form.document_url.data or "",
                  document_title=form.document_title.data or "")
    if item is None:
        return operations.publish_news(publisher=g.collectivity, author=current_user, **fields)
    return operations.edit_news(item, author=current_user, **fields)


@bp.route("/actualites/nouvelle", methods=["GET", "POST"])
@requires(PUBLISH)
def publish():
    return _edit_page(None)


@bp.route("/actualites/<int:news_id>/modifier", methods=["GET", "POST"])
@requires(READ)
def edit(news_id: int):
    return _edit_page(editable_news_or_404(news_id))


def _edit_page(item: NewsItem | None):
    form = _news_form(item)
    refused = False
    if form.validate_on_submit():
        try:
            saved = _save(form, item)
        except operations.DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            refused = True
        else:
            db.session.commit()
            flash(_("The news is published.") if item is None else _("The news is saved."), "success")
            return redirect(url_for("desk.news_item", news_id=saved.id))
    return render_template("desk/news_form.html", form=form, item=item), (400 if form.errors or refused else 200)


@bp.post("/actualites/<int:news_id>/retirer")
@requires(READ)
def withdraw(news_id: int):
    item = editable_news_or_404(news_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    operations.withdraw_news(item, author=current_user)
    db.session.commit()
    flash(_("The news is withdrawn."), "info")
    return redirect(url_for("desk.news_list"))


@bp.route("/courriel", methods=["GET", "POST"])
@requires(READ)
def digest():
    choice = operations.digest_choice(current_user.id)
    form = DigestForm(frequency=choice.frequency) if request.method == "GET" else DigestForm()
    if form.validate_on_submit():
        operations.set_digest_frequency(current_user, form.frequency.data)
        db.session.commit()
        flash(_("Your choice is saved."), "success")
        return redirect(url_for("desk.digest"))
    db.session.rollback()  # nothing is written by showing the page
    return render_template("desk/digest.html", form=form)


@bp.get("/actualites.atom")
@requires(READ)
def news_feed():
    items = latest_news(PAGE_SIZE)
    body = render_template("desk/news.atom.xml", items=items, updated=max((n.updated_at for n in items), default=None),
                           portal_name=current_app.config.get("PORTAL_NAME", ""))
    return Response(body, mimetype="application/atom+xml")


# Where a search result leads: kind of entry → (endpoint, name of its id argument).
RESULT_PAGES = {"news": ("desk.news_item", "news_id"), "thread": ("desk.forum_thread", "thread_id"),
                "document": ("desk.library_document", "document_id"), "sheet": ("desk.sheet_page", "sheet_id")}


@bp.get("/recherche")
@requires(READ)
def search_page():
    query = (request.args.get("q") or "").strip()[:200]
    entries = search.search(query) if query else []
    results = [{"entry": e, "snippet": search.snippet(e.body or e.title, query),
                "url": url_for(RESULT_PAGES[e.kind][0], **{RESULT_PAGES[e.kind][1]: e.ref_id})} for e in entries]
    return render_template("desk/search.html", query=query, results=results)
