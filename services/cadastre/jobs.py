"""Imports started from the department's page: one job row per import, run by a Celery task (or here, when small).

The job row is written with the uploaded files in the user's request (its outbox, DESIGN.md §4). :func:`run` is
idempotent: a finished job is left alone; a job found ``running`` (its worker died; the import's transaction was
rolled back with it) is run again. The job is marked ``done`` inside the import's own transaction (``on_success``),
so the data and the job's state commit together; ``failed`` keeps the errors (msgid + parameters, translated by
the page). The uploaded files are deleted when the job ends.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import asdict, is_dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from portal import audit
from portal.extensions import db
from portal.settings import setting
from portal.models import Collectivity, User, utcnow

from .importer import ImportFailed
from .models import ImportJob
from .problems import N_, as_dict

log = logging.getLogger(__name__)

KINDS = ("plan", "owners", "addresses")
STALE_QUEUED = dt.timedelta(minutes=5)  # queued this long without a worker: queued again (broker was down)


def upload_root() -> Path:
    folder = setting("CADASTRE_IMPORT_DIR") or str(Path(current_app.instance_path) / "cadastre-imports")
    return Path(folder)


def _report_dict(kind: str, report) -> dict:
    data = report.as_dict() if hasattr(report, "as_dict") else asdict(report) if is_dataclass(report) else {}
    return {"kind": kind, **data}


def run(job_id: int) -> str:
    """Run one import job (system context: the task's AppTask, or the page inside territory_scope(None))."""
    from .addresses import import_addresses
    from .importer import import_commune
    from .owners import import_owners

    claimed = db.session.execute(update(ImportJob).where(ImportJob.id == job_id,
                                                         ImportJob.status.in_(("queued", "running")))
                                 .values(status="running", attempts=ImportJob.attempts + 1, started_at=utcnow()))
    db.session.commit()
    job = db.session.get(ImportJob, job_id)
    if job is None or not claimed.rowcount:
        return job.status if job is not None else "missing"
    user = db.session.get(User, job.user_id) if job.user_id else None
    folder = Path(job.folder)
    paths = [folder / name for name in job.files]
    kind, commune = job.kind, job.commune_insee

    def done(report):
        job.status = "done"
        job.report = _report_dict(kind, report)
        job.errors = []
        job.finished_at = utcnow()

    try:
        if kind == "plan":
            import_commune([str(p) for p in paths], commune=commune, vintage=job.vintage, user=user,
                           user_email=job.requested_by or "system", allowed_communes={commune}, on_success=done)
        elif kind == "owners":
            import_owners(paths[0].read_bytes(), commune, allowed_communes={commune}, user=user, on_success=done)
        elif kind == "addresses":
            import_addresses(paths[0].read_bytes(), commune, allowed_communes={commune}, user=user, on_success=done)
        else:
            raise ImportFailed([N_("unknown kind of import %(kind)r", kind=kind)])
    except ImportFailed as exc:
        _fail(job_id, user, list(exc.errors))
    except Exception:  # noqa: BLE001 - never leave a job running without telling the person who started it
        log.exception("cadastre import job %s (%s, commune %s) failed unexpectedly", job_id, kind, commune)
        _fail(job_id, user, [N_("unexpected error during the import; nothing was imported. The technical team "
                                "finds the details in the logs (job %(job)s).", job=job_id)])
    job = db.session.get(ImportJob, job_id)
    if job.status in ("done", "failed"):
        shutil.rmtree(job.folder, ignore_errors=True)
    log.info("cadastre import job %s: %s", job_id, job.status)
    return job.status


def _fail(job_id: int, user, errors) -> None:
    db.session.rollback()
    job = db.session.get(ImportJob, job_id)
    job.status = "failed"
    job.errors = [as_dict(e) for e in errors[:500]]
    job.report = {"kind": job.kind, "error_count": len(errors)}
    job.finished_at = utcnow()
    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == job.commune_insee,
                                                        Collectivity.kind == "commune"))
    audit.record("cadastre.import.failed", target_type="CadastreImportJob", target_id=job.id, collectivity=coll,
                 user=user, kind=job.kind, commune=job.commune_insee, errors=len(errors))
    db.session.commit()


def requeue_stale(now: dt.datetime | None = None) -> int:
    """Queue again the jobs still waiting after :data:`STALE_QUEUED` (the broker was down when they were written)."""
    from portal.tasks import requeue_stale as requeue

    from .tasks import run_import

    return requeue(ImportJob, run_import, STALE_QUEUED, now)
