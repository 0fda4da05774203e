"""The news on the portal's home page (the descriptor's ``home_panel``): pinned first, then the newest, unread ones
marked, each with a « marquer comme lu » button.

One statement for the panel: the page of news the active collectivity may read (the audience filter of
``portal/audiences.py`` applies as to any query), its publishers' names (joined) and the person's read marks (an
outer join on ``desk_news_read``'s unique (user, news) key), in the order of ``ix_desk_news_pinned_published``. The
panel reads the columns it shows only, not whole news items: an item would bring its audience and its publisher's
whole row (joined eager loads) and three ORM objects per news, none of which the panel needs."""
from __future__ import annotations

import functools

from flask_login import current_user
from sqlalchemy import and_, bindparam, select

from portal.extensions import db
from portal.home import render_panel
from portal.models import Collectivity
from portal.tenancy import kept

from .access import READ
from .models import NewsItem, NewsRead

HOME_NEWS = 6

_PANEL_COLUMNS = (NewsItem.id, NewsItem.title, NewsItem.body_html, NewsItem.pinned, NewsItem.published_at,
                  NewsItem.document_url, NewsItem.document_title, Collectivity.name.label("publisher_name"),
                  NewsRead.news_id.label("read_id"))


@functools.lru_cache(maxsize=8)
def _news_statement(limit: int):
    """The ``limit`` newest news with the read marks of ``user_id`` (built once per limit: see
    ``portal.tenancy.kept``)."""
    return kept(select(*_PANEL_COLUMNS)
                .outerjoin(NewsItem.publisher)
                .outerjoin(NewsRead, and_(NewsRead.news_id == NewsItem.id, NewsRead.user_id == bindparam("user_id")))
                .order_by(NewsItem.pinned.desc(), NewsItem.published_at.desc(), NewsItem.id.desc())
                .limit(limit))


def news_page(user_id: int, limit: int) -> tuple[list, set[int]]:
    """The ``limit`` newest news (pinned first) the active collectivity may read — rows with the columns the panel
    shows and ``publisher_name`` — and the ids of those ``user_id`` has read, in one statement."""
    rows = db.session.execute(_news_statement(limit), {"user_id": user_id}).all()
    return rows, {row.read_id for row in rows if row.read_id is not None}


def news_panel(collectivity, permissions) -> str | None:
    if READ not in permissions:
        return None
    items, read = news_page(current_user.id, HOME_NEWS)
    return render_panel("desk/home_panel.html", items=items, read=read)
