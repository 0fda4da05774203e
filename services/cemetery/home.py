"""The panel on the commune's home page: concessions expiring within 6 months, and reprise steps that are due."""
from __future__ import annotations


from flask import render_template

from portal.identity import today as local_today
from .queries import deadlines, steps_due


def home_panel(collectivity, permissions) -> str | None:
    if collectivity is None or collectivity.kind != "commune" or "cemetery.read" not in permissions:
        return None
    today = local_today(collectivity)
    items = [d for d in deadlines(today) if d.months >= 0]
    steps = steps_due(today)
    if not items and not steps:
        return None
    return render_template("cemetery/_home_panel.html", items=items[:8], more=max(0, len(items) - 8), steps=steps,
                           today=today)
