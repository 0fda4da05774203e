"""The registers as PDF, built by a Celery task, not in the request: a cemetery of 10 000 emplacements takes WeasyPrint
about two minutes. The page writes a ``RegisterJob`` row (the outbox of the task, DESIGN.md §4) and hands it to
``tasks.build_register`` after the commit (``portal.outbox.enqueue_after_commit``; in-process when embedded, as
Celery's ``task_always_eager``); the job's page says « en préparation » until the file is there, then offers it.

:func:`run` is idempotent: a finished job is left alone; one found ``running`` (its worker died) is run again. It
runs in system context and narrows itself to the job's commune with ``territory_scope``, so every query of the
service goes through the portal's choke point as in a request. The file goes to ``CEMETERY_REGISTER_DIR`` through
``portal.filestore`` (its SHA-256 kept in the row and checked when downloaded).
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, g
from sqlalchemy import select, update

from portal import audit
from portal.extensions import db
from portal.filestore import FileStore
from portal.models import Collectivity, User
from portal.outbox import enqueue_after_commit
from portal.tenancy import territory_scope

from .models import RegisterJob, utcnow

log = logging.getLogger(__name__)

KINDS = ("concessions", "operations", "ossuary")
FILENAMES = {"concessions": "registre-concessions.pdf", "operations": "registre-operations.pdf",
             "ossuary": "registre-ossuaire.pdf"}
STORE = FileStore("CEMETERY_REGISTER_DIR", "cemetery/registers", "cemetery registers")
STALE_QUEUED = dt.timedelta(minutes=5)


def start(kind: str, insee: str, user) -> RegisterJob:
    """Write the job, audit the request, and hand it to the task once the caller commits."""
    from .tasks import build_register

    if kind not in KINDS:
        raise ValueError(kind)
    job = RegisterJob(commune_insee=insee, kind=kind, status="queued", user_id=getattr(user, "id", None),
                      requested_by=getattr(user, "email", "") or "")
    db.session.add(job)
    db.session.flush()
    audit.record("cemetery.register_requested", target=job, register=kind)
    enqueue_after_commit(build_register, job.id)
    return job


def run(job_id: int) -> str:
    """Build the register of job ``job_id`` (the task's body)."""
    from . import documents

    claimed = db.session.execute(update(RegisterJob).where(RegisterJob.id == job_id,
                                                           RegisterJob.status.in_(("queued", "running")))
                                 .values(status="running", attempts=RegisterJob.attempts + 1, started_at=utcnow()))
    db.session.commit()
    job = db.session.get(RegisterJob, job_id)
    if job is None or not claimed.rowcount:
        return job.status if job is not None else "missing"
    insee, kind = job.commune_insee, job.kind
    commune = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee,
                                                           Collectivity.kind == "commune"))
    user = db.session.get(User, job.user_id) if job.user_id else None
    try:
        with territory_scope({insee}), current_app.test_request_context():
            g.collectivity = commune
            html = documents.register_html(kind)
            lines = html.count("<tr>") - 1
            data = documents.to_pdf(html)
            stored = STORE.save_for(db.session, f"{insee}/{job_id}", data)
            job = db.session.get(RegisterJob, job_id)
            job.status, job.file_key, job.sha256, job.size = "done", stored.key, stored.sha256, stored.size
            job.lines, job.finished_at = max(lines, 0), utcnow()
            audit.record("cemetery.register_built", target=job, collectivity=commune, user=user, register=kind,
                         lines=job.lines, background=True)
            db.session.commit()
    except Exception:  # noqa: BLE001 - never leave a job running without telling the person who asked
        db.session.rollback()
        log.exception("cemetery register job %s (%s, commune %s) failed", job_id, kind, insee)
        job = db.session.get(RegisterJob, job_id)
        job.status, job.error, job.finished_at = "failed", "unexpected", utcnow()
        db.session.commit()
    log.info("cemetery register job %s (%s, commune %s): %s", job_id, kind, insee, job.status)
    return job.status


def requeue_stale(now: dt.datetime | None = None) -> int:
    """Queue again the jobs still waiting after :data:`STALE_QUEUED` (the broker was down when they were written)."""
    from portal.tasks import requeue_stale as requeue

    from .tasks import build_register

    return requeue(RegisterJob, build_register, STALE_QUEUED, now)
