"""Celery task: close the consultations whose reception deadline has passed (pages also do it when they load)."""
from portal.tasks import celery_app


@celery_app.task(name="tenders.close_expired")
def close_expired_task() -> int:
    from .operations import close_expired

    return close_expired()
