"""Celery wiring (DESIGN.md §4).

Production: Redis is broker and result store (``REDIS_URL``); run ``celery -A portal.worker worker`` and
``celery -A portal.worker beat``. Embedded default (no ``REDIS_URL``): tasks run in-process, right after the
transaction that queued them commits (``task_always_eager``), so there is nothing to install or start.

Tasks open their own database session and run in system context (no territory filter): they act on outbox rows
that the user's transaction already wrote and checked.
"""
from __future__ import annotations

import datetime as dt

from celery import Celery, Task
from flask import Flask

_state: dict = {"app": None}


class AppTask(Task):
    """Runs every task inside the Flask app context, in the system context: no territory and no audience filter
    (``app.territory`` and ``app.viewer`` = ``*`` for row-level security). Explicitly, not by the absence of a
    request: an eager task (embedded mode) runs inside the request that queued it, whose new app context knows no
    collectivity — it would read as nobody signed in, and the rows guarded by the viewer (a collectivity's TdT
    account, portal.audiences.ViewerGuarded) would be invisible to it."""

    def __call__(self, *args, **kwargs):
        from .audiences import audience_scope
        from .tenancy import territory_scope

        app = _state["app"]
        if app is None:
            raise RuntimeError("init_celery() was not called")
        with app.app_context(), territory_scope(None), audience_scope(None):
            return self.run(*args, **kwargs)


celery_app = Celery("extranet", task_cls=AppTask)


def init_celery(app: Flask) -> Celery:
    redis_url = app.config.get("REDIS_URL") or ""
    eager = bool(app.config.get("CELERY_EAGER"))
    _state["app"] = app
    celery_app.conf.update(
        broker_url=redis_url or "memory://localhost/",
        result_backend=redis_url or None,
        task_always_eager=eager,
        task_eager_propagates=False,
        task_ignore_result=True,
        task_acks_late=True,  # a worker killed mid-task leaves the message to be redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone=app.config.get("DEPARTMENT_TIMEZONE") or "Europe/Paris",  # the beat's clock: the default département's
        beat_schedule={
            "flush-email-outbox": {"task": "portal.flush_outbox", "schedule": dt.timedelta(seconds=60)},
            **{name: entry for s in app.extensions["service_registry"].all() for name, entry in s.beat_schedule.items()},
        },
        include=["portal.mail"] + [m for s in app.extensions["service_registry"].all() for m in s.tasks],
    )
    app.extensions["celery"] = celery_app
    return celery_app


def requeue_stale(model, task, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Queue ``task`` again for every row of ``model`` (a job table used as an outbox: ``status``, ``created_at``)
    still ``queued`` after ``older_than`` — the broker was down when the row was written. Returns how many."""
    from sqlalchemy import select

    from .extensions import db
    from .models import utcnow

    now = now or utcnow()
    ids = list(db.session.scalars(select(model.id).where(model.status == "queued",
                                                         model.created_at < now - older_than)))
    from .outbox import hand_off

    for job_id in ids:
        hand_off(task, [job_id])
    return len(ids)
