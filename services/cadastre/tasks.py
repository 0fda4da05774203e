"""Celery tasks of the land registry (declared in the descriptor's ``tasks``, imported by the worker).

They run in system context (``portal.tasks.AppTask``): the job rows they act on were written and checked by the
department's request (commune within the department, permission ``cadastre.import``).
"""
from __future__ import annotations

from portal.tasks import celery_app

from . import jobs


@celery_app.task(name="cadastre.run_import")
def run_import(job_id: int) -> str:
    return jobs.run(job_id)


@celery_app.task(name="cadastre.requeue_imports")
def requeue_imports() -> int:
    return jobs.requeue_stale()
