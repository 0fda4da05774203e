"""Long print runs in the background: the émargement lists or voter cards of a large commune (35 000 voters) must
not hold a web request. A ``PrintJob`` row is written in the user's request (the outbox of the Celery task,
DESIGN.md §4), ``tasks.run_print`` builds the file with its progress, the job page shows « prêt » and a download
link. Small communes keep the direct path (the PDF in the answer).

:func:`run` is idempotent: a finished job is left alone; a job found ``running`` (its worker died) is run again.
It runs in system context (Celery's ``AppTask``) and narrows itself to the job's commune with the portal's
``territory_scope``, so every query of the service goes through the same choke point as in a request.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import uuid
import zipfile
from pathlib import Path

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import select, update

from portal import audit
from portal.extensions import db
from portal.models import Collectivity, User
from portal.tenancy import territory_scope

from . import pdf
from .models import Election, PollingStation, PrintJob, Voter, legal_sort_key, utcnow

log = logging.getLogger(__name__)

KINDS = ("emargement", "cards")
DEFAULT_INLINE_VOTERS = 3000  # above this many voters, a print run goes to the background
STALE_QUEUED = dt.timedelta(minutes=5)


def inline_limit() -> int:
    return int(current_app.config.get("ELECTORAL_PRINT_INLINE_VOTERS") or DEFAULT_INLINE_VOTERS)


def print_dir() -> Path:
    folder = current_app.config.get("ELECTORAL_PRINT_DIR") or str(Path(current_app.instance_path) / "electoral-prints")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def voters_for(bureau: PollingStation | None, election: Election | None) -> list[Voter]:
    """Registered voters of the active commune (or of one bureau), on the election's lists, in legal order."""
    stmt = select(Voter).where(Voter.status == "registered")
    if bureau is not None:
        stmt = stmt.where(Voter.bureau_id == bureau.id)
    voters = db.session.scalars(stmt).all()
    if election is not None and election.lists:
        voters = [v for v in voters if any(getattr(v, f"on_{name}") for name in election.lists)]
    return sorted(voters, key=legal_sort_key)


def emargement_header(commune, b: PollingStation, election: Election | None) -> str:
    return " — ".join(x for x in (commune.name, _("Polling station %(n)s", n=b.label),
                                   election.title if election else "") if x)


def cards_header(commune, b: PollingStation) -> str:
    return " — ".join((commune.name, _("Voter cards"), _("Polling station %(n)s", n=b.label)))


def output_name(kind: str, commune, bureau: PollingStation | None) -> str:
    stem = "emargement" if kind == "emargement" else "cartes-electorales"
    return f"{stem}-bureau-{bureau.number}.pdf" if bureau is not None else f"{stem}-{commune.insee}.zip"


def start(kind: str, commune, bureau: PollingStation | None, election: Election | None, voters: int, user) -> PrintJob:
    """Write the job row and audit the request (the caller commits, then calls :func:`enqueue`)."""
    job = PrintJob(commune_insee=commune.insee, kind=kind, bureau=bureau, election=election, status="queued",
                   voters=voters, user_id=user.id, requested_by=user.email,
                   filename=output_name(kind, commune, bureau))
    db.session.add(job)
    db.session.flush()
    audit.record("electoral.print_requested", target=job, kind=kind, bureau=bureau.number if bureau else "all",
                 election=election.id if election else None, voters=voters)
    return job


def enqueue(job_id: int) -> None:
    """Hand the job to Celery (in the embedded default, eager: it runs here, now). Broker down: the job stays
    queued and the beat entry ``electoral-requeue-prints`` queues it again."""
    from .tasks import run_print

    from portal.outbox import hand_off

    hand_off(run_print, [job_id])  # broker down: handed off again as soon as it answers; requeue_stale() remains


def run(job_id: int) -> str:
    claimed = db.session.execute(update(PrintJob).where(PrintJob.id == job_id,
                                                        PrintJob.status.in_(("queued", "running")))
                                 .values(status="running", attempts=PrintJob.attempts + 1, started_at=utcnow(),
                                         done_parts=0))
    db.session.commit()
    job = db.session.get(PrintJob, job_id)
    if job is None or not claimed.rowcount:
        return job.status if job is not None else "missing"
    commune = db.session.scalar(select(Collectivity).where(Collectivity.insee == job.commune_insee,
                                                           Collectivity.kind == "commune"))
    user = db.session.get(User, job.user_id) if job.user_id else None
    try:
        with territory_scope({job.commune_insee}), current_app.test_request_context():
            g.collectivity = commune
            data, voters = _build(job, commune)
            path = print_dir() / f"{job.id}-{uuid.uuid4().hex}{Path(job.filename).suffix}"
            path.write_bytes(data)
            job = db.session.get(PrintJob, job_id)
            job.status, job.path, job.size, job.voters = "done", str(path), len(data), voters
            job.finished_at = utcnow()
            audit.record("electoral.emargement_printed" if job.kind == "emargement" else "electoral.cards_printed",
                         target=job, collectivity=commune, user=user, voters=voters, background=True,
                         bureau=job.bureau.number if job.bureau else "all")
            db.session.commit()
    except Exception:  # noqa: BLE001 - never leave a job running without telling the person who started it
        db.session.rollback()
        log.exception("electoral print job %s (%s, commune %s) failed", job_id, job.kind, job.commune_insee)
        job = db.session.get(PrintJob, job_id)
        job.status, job.error, job.finished_at = "failed", "unexpected", utcnow()
        db.session.commit()
    log.info("electoral print job %s: %s", job_id, job.status)
    return job.status


def _progress(job_id: int):
    def report(done: int, total: int) -> None:
        db.session.execute(update(PrintJob).where(PrintJob.id == job_id).values(done_parts=done, total_parts=total))
        db.session.commit()
    return report


def _build(job: PrintJob, commune) -> tuple[bytes, int]:
    bureaux = [job.bureau] if job.bureau is not None else db.session.scalars(
        select(PollingStation).order_by(PollingStation.number)).all()
    by = {b.id: voters_for(b, job.election) for b in bureaux}
    count = sum(len(v) for v in by.values())
    progress = _progress(job.id)
    if job.kind == "emargement":
        docs = pdf.render_emargements([(emargement_header(commune, b, job.election), by[b.id],
                                        dict(bureau=b, election=job.election, commune=commune)) for b in bureaux],
                                       progress)
    else:
        htmls = [pdf.render_html("electoral/pdf/cards.html", cards_header(commune, b), voters=by[b.id], bureau=b,
                                 commune=commune, qr=pdf.card_qr) for b in bureaux]
        docs = pdf.html_to_pdf_many(htmls, progress)
    if job.bureau is not None:
        return docs[0], count
    buf = io.BytesIO()
    stem = "emargement" if job.kind == "emargement" else "cartes-electorales"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for b, data in zip(bureaux, docs):
            zf.writestr(f"{stem}-bureau-{b.number}.pdf", data)
    return buf.getvalue(), count


def requeue_stale(now: dt.datetime | None = None) -> int:
    """Queue again the jobs still waiting after :data:`STALE_QUEUED` (the broker was down when they were written)."""
    from portal.tasks import requeue_stale as requeue

    from .tasks import run_print

    return requeue(PrintJob, run_print, STALE_QUEUED, now)
