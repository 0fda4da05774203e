"""Keeping an instance running: backups and restore (``flask ops …``), health checks, metrics, structured logs,
optional Sentry. See docs/production.md.

:func:`init_app` is called once by ``portal.create_app``.
"""
from __future__ import annotations

import logging

from celery.schedules import crontab
from flask import Flask

log = logging.getLogger(__name__)


def beat_entries(app: Flask) -> dict:
    """The heartbeat every minute; the nightly backup at BACKUP_AT (Europe/Paris, Celery's time zone)."""
    import datetime as dt

    from .health import HEARTBEAT_EVERY

    entries = {"ops-heartbeat": {"task": "portal.ops.heartbeat", "schedule": dt.timedelta(seconds=HEARTBEAT_EVERY)}}
    at = (app.config.get("BACKUP_AT") or "").strip()
    if at:
        try:
            hour, minute = (int(x) for x in at.split(":"))
            if not (0 <= hour < 24 and 0 <= minute < 60):
                raise ValueError(at)
        except ValueError as exc:
            raise ValueError(f"BACKUP_AT must be HH:MM (24 h), got {at!r}") from exc
        entries["ops-nightly-backup"] = {"task": "portal.ops.backup", "schedule": crontab(hour=hour, minute=minute)}
    return entries


def _size(value) -> str:
    """« 12,3 Mo » (French units)."""
    from ..typography import number

    value = float(value or 0)
    for unit in ("o", "Ko", "Mo", "Go", "To"):
        if value < 1024 or unit == "To":
            return f"{number(round(value, 1)) if unit != 'o' else int(value)} {unit}"
        value /= 1024
    return ""


def detail_label(detail) -> str:
    """The French words of a check's detail on the « Exploitation » page (the JSON keeps the English ones)."""
    from flask_babel import gettext as _

    text = str(detail or "")
    labels = {
        "not used (tasks run in-process)": _("not used (tasks run in-process)"),
        "no backup yet": _("no backup yet"),
        "no worker heartbeat in the last hour": _("no heartbeat of the worker in the last hour"),
        "no beat heartbeat in the last hour": _("no heartbeat of the scheduler in the last hour"),
        "ok": _("verified"),
        "failed": _("failed"),
        "not verified": _("not verified"),
    }
    if text in labels:
        return labels[text]
    if "unreachable" in text:
        return _("unreachable (%(error)s)", error=text.rsplit(": ", 1)[-1])
    return text


def init_sentry(dsn: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    from ..logs import redact

    def _scrub(event, hint):
        for entry in (event.get("logentry") or {},):
            if entry.get("message"):
                entry["message"] = redact(entry["message"])
        return event

    sentry_sdk.init(dsn=dsn, integrations=[FlaskIntegration(), CeleryIntegration()], send_default_pii=False,
                    traces_sample_rate=0.0, before_send=_scrub)


def init_app(app: Flask) -> None:
    from ..tasks import celery_app
    from . import logs, metrics, models, tasks, views  # noqa: F401 - models: the table; tasks: Celery tasks, signals
    from .cli import cli

    logs.init_app(app)
    metrics.init_app(app)
    views.register(app)
    app.cli.add_command(cli)
    if app.config.get("LOG_JSON"):
        celery_app.conf.worker_hijack_root_logger = False  # the worker's lines in the same JSON as the web's
    celery_app.conf.beat_schedule.update(beat_entries(app))
    if app.config.get("SENTRY_DSN"):
        init_sentry(app.config["SENTRY_DSN"])
    app.jinja_env.filters["ops_size"] = _size
    app.jinja_env.filters["ops_detail"] = detail_label

    def ops_backup_status():
        from .health import check_backup

        return check_backup()

    app.jinja_env.globals["ops_backup_status"] = ops_backup_status
