"""Celery tasks of the electoral rolls (declared in the descriptor's ``tasks``, imported by the worker).

They run in system context (``portal.tasks.AppTask``); :func:`printing.run` narrows itself to the job's commune.
"""
from __future__ import annotations

from portal.tasks import celery_app

from . import printing


@celery_app.task(name="electoral.run_print")
def run_print(job_id: int) -> str:
    return printing.run(job_id)


@celery_app.task(name="electoral.requeue_prints")
def requeue_prints() -> int:
    return printing.requeue_stale()
