"""Celery tasks of the alerts service (declared in the descriptor's ``tasks``, imported by the worker).

They run in system context (``portal.tasks.AppTask``): the rows they act on were written and checked by the user's
transaction. ``alerts.flush`` runs every minute on beat (scheduled alerts, retries, rows of a dead worker).
"""
from __future__ import annotations


from portal.tasks import celery_app

from . import delivery, geocode as geocoding
from .smtp import SmtpBatch


@celery_app.task(name="alerts.send_batch")
def send_batch(ids: list[int]) -> dict[str, int]:
    from flask import current_app

    counts: dict[str, int] = {}
    smtp = SmtpBatch(current_app.config)
    try:
        for status in delivery.deliver_many(ids, smtp=smtp).values():
            counts[status] = counts.get(status, 0) + 1
    finally:
        smtp.close()
    return counts


@celery_app.task(name="alerts.flush")
def flush() -> dict[str, int]:
    counts = delivery.flush()
    geocoding.retry_errors()
    return counts


@celery_app.task(name="alerts.geocode")
def geocode(subscriber_id: int) -> str:
    return geocoding.geocode_subscriber(subscriber_id)

