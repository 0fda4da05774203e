"""Celery tasks of the cemetery (declared in the descriptor's ``tasks``, imported by the worker). They run in system
context (``portal.tasks.AppTask``); :func:`registers.run` narrows itself to the job's commune."""
from __future__ import annotations

from portal.tasks import celery_app

from . import registers


@celery_app.task(name="cemetery.build_register")
def build_register(job_id: int) -> str:
    return registers.run(job_id)


@celery_app.task(name="cemetery.requeue_registers")
def requeue_registers() -> int:
    return registers.requeue_stale()
