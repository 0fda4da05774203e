"""The panel on the commune's home page: concessions expiring within 6 months, and reprise steps that are due."""
from __future__ import annotations


from portal.home import render_panel
from portal.identity import today as local_today
from .queries import panel_deadlines, panel_steps_due


def home_panel(collectivity, permissions) -> str | None:
    if collectivity is None or collectivity.kind != "commune" or "cemetery.read" not in permissions:
        return None
    today = local_today(collectivity)
    items = panel_deadlines(today)
    steps = panel_steps_due(today)
    if not items and not steps:
        return None
    return render_panel("cemetery/_home_panel.html", items=items[:8], more=max(0, len(items) - 8), steps=steps,
                       today=today)
