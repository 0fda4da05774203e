"""The news on the portal's home page (the descriptor's ``home_panel``): pinned first, then the newest, unread ones
marked, each with a « marquer comme lu » button."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from .access import READ
from .views.pages import latest_news, read_ids

HOME_NEWS = 6


def news_panel(collectivity, permissions) -> str | None:
    if READ not in permissions:
        return None
    items = latest_news(HOME_NEWS)
    return render_template("desk/home_panel.html", items=items, read=read_ids(current_user.id, items))
