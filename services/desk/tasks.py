"""Celery tasks of the information desk (declared in the descriptor's ``tasks`` and ``beat_schedule``)."""
from __future__ import annotations

from flask import current_app

from portal.tasks import celery_app

from . import digest


@celery_app.task(name="desk.send_digests")
def send_digests() -> dict[str, int]:
    """Every hour: the digests that are due. Links are built for ``BASE_URL`` (no request in a worker)."""
    with current_app.test_request_context(base_url=current_app.config.get("BASE_URL") or "http://localhost"):
        return digest.send_digests()


@celery_app.task(name="desk.close_job_offers")
def close_job_offers() -> int:
    """Every hour: close the job offers whose closing day is over (the pages never show them open anyway)."""
    from portal.extensions import db

    from . import jobs

    closed = jobs.close_expired()
    db.session.commit()
    return closed


@celery_app.task(name="desk.send_event_reminders")
def send_event_reminders() -> int:
    """Every hour: the reminder e-mail of tomorrow's events, once per registration (through the outbox)."""
    from portal.extensions import db

    from . import agenda

    with current_app.test_request_context(base_url=current_app.config.get("BASE_URL") or "http://localhost"):
        queued = agenda.send_reminders()
        db.session.commit()
    return queued
