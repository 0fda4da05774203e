"""Large print runs go to the background (a Celery task; eager in the embedded default, a real worker on Redis in
CI's second run): offer page, job row, progress and « prêt » state, download audited, small communes unchanged.
Fictitious people."""
from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.portal.test_celery_redis import _wait_for, celery_worker_on_redis, redis_broker, redis_only  # noqa: F401


@pytest.fixture
def crowd(app, elec, world, add_voter):
    """Bureau 1 of Ailleville with 8 more voters, and a print limit of 5 voters (a « large commune » in small)."""
    for i in range(8):
        add_voter(world.insee_a, f"FOULE{i:02d}", "Test", "1950-01-01", elec.bureau_a)
    app.config["ELECTORAL_PRINT_INLINE_VOTERS"] = 5
    yield elec
    app.config.pop("ELECTORAL_PRINT_INLINE_VOTERS", None)


def _actions(app):
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_large_emargement_list_is_prepared_in_the_background(app, crowd, login_as, tmp_path):
    from portal.extensions import db
    from services.electoral.models import PrintJob

    app.config["ELECTORAL_PRINT_DIR"] = str(tmp_path)
    c = login_as("secretary_a")
    url = f"/s/electoral/bureaux/{crowd.bureau_a}/emargement.pdf?scrutin={crowd.election_a}"
    resp = c.get(url)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "compte 10 électeurs" in body and "Préparer le document" in body
    # an elected official reads the offer, without a button they may not use (electoral.write)
    elected = login_as("elected_a").get(url).get_data(as_text=True)
    assert "compte 10 électeurs" in elected and "Préparer le document" not in elected
    c = login_as("secretary_a")
    resp = c.post("/s/electoral/impressions", {"kind": "emargement", "bureau": str(crowd.bureau_a),
                                               "scrutin": str(crowd.election_a)}, csrf_from=url)
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    body = c.get(job_url).get_data(as_text=True)  # eager: the task ran right after the commit
    assert "Prêt" in body and "Télécharger emargement-bureau-1.pdf" in body
    with app.app_context():
        job = db.session.scalar(select(PrintJob))
        assert (job.status, job.voters, job.done_parts, job.total_parts) == ("done", 10, 1, 1)
        assert job.path.startswith(str(tmp_path))
    assert "electoral.print_requested" in _actions(app) and "electoral.emargement_printed" in _actions(app)
    data = c.get(f"{job_url}/fichier")
    assert data.status_code == 200 and data.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data.data)).pages)
    assert "FOULE07" in text and "Municipales 2026 (fictif)" in text and "inscrits dans le bureau : 10" in text.replace("\xa0", " ")
    assert "electoral.print_downloaded" in _actions(app)
    listing = c.get("/s/electoral/impressions").get_data(as_text=True)
    assert "Liste d'émargement" in listing or "Liste d&#39;émargement" in listing
    # cards of a large bureau, and every bureau's lists in one zip, go the same way
    resp = c.post("/s/electoral/impressions", {"kind": "cards", "bureau": str(crowd.bureau_a)},
                  csrf_from=url)
    assert "Prêt" in c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "compte 10 électeurs" not in c.get("/s/electoral/emargement.zip").get_data(as_text=True)  # all: 10 + 0
    resp = c.post("/s/electoral/impressions", {"kind": "emargement"}, csrf_from=url)
    data = c.get(resp.headers["Location"] + "/fichier")
    assert data.mimetype == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(data.data)).namelist() == ["emargement-bureau-1.pdf", "emargement-bureau-2.pdf"]


def test_small_lists_stay_direct_and_bad_requests_are_refused(app, elec, login_as):
    c = login_as("secretary_a")
    resp = c.get(f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf")
    assert resp.mimetype == "application/pdf"
    assert c.post("/s/electoral/impressions", {"kind": "bulletins"}, csrf_from="/s/electoral/").status_code == 400
    assert c.post("/s/electoral/impressions", {"kind": "cards"}, csrf_from="/s/electoral/").status_code == 400
    assert c.post("/s/electoral/impressions", {"kind": "emargement", "bureau": str(elec.bureau_b)},
                  csrf_from="/s/electoral/").status_code == 404
    assert c.http.post("/s/electoral/impressions", data={"kind": "emargement"}).status_code in (400, 403)  # no CSRF
    assert c.get("/s/electoral/impressions/999999").status_code == 404


def test_a_job_left_running_by_a_dead_worker_runs_again_and_a_finished_one_is_left_alone(app, elec, world, tmp_path):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.electoral import printing
    from services.electoral.models import PrintJob

    app.config["ELECTORAL_PRINT_DIR"] = str(tmp_path)
    with app.app_context(), territory_scope(None):
        job = PrintJob(commune_insee=world.insee_a, kind="emargement", bureau_id=elec.bureau_a, status="running",
                       filename="emargement-bureau-1.pdf", attempts=1)
        db.session.add(job)
        db.session.commit()
        assert printing.run(job.id) == "done"
        job = db.session.get(PrintJob, job.id)
        assert job.attempts == 2 and job.voters == 2
        first = job.path
        assert printing.run(job.id) == "done"
        assert db.session.get(PrintJob, job.id).path == first  # not built twice


@redis_only
def test_print_job_runs_on_a_real_worker_fed_by_redis(app, crowd, login_as, tmp_path, celery_worker_on_redis):  # noqa: F811
    from portal.extensions import db
    from services.electoral.models import PrintJob

    app.config["ELECTORAL_PRINT_DIR"] = str(tmp_path)
    c = login_as("secretary_a")
    url = f"/s/electoral/bureaux/{crowd.bureau_a}/cartes.pdf"
    assert "Préparer le document" in c.get(url).get_data(as_text=True)
    resp = c.post("/s/electoral/impressions", {"kind": "cards", "bureau": str(crowd.bureau_a)}, csrf_from=url)
    job_url = resp.headers["Location"]

    def status():
        with app.app_context():
            db.session.remove()
            return db.session.scalar(select(PrintJob.status))

    assert _wait_for(lambda: status() == "done", timeout=120), status()
    name, _info, eager = celery_worker_on_redis.ran[0]
    assert name == "electoral.run_print" and not eager
    data = c.get(f"{job_url}/fichier")
    assert "CARTE ÉLECTORALE" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(data.data)).pages)


def test_a_print_run_left_queued_is_queued_again(app, crowd, login_as, tmp_path):
    """The job row is the outbox: when the broker was down, the periodic requeue starts the job later."""
    import datetime as dt

    from portal.extensions import db
    from services.electoral import printing
    from services.electoral.models import PrintJob

    app.config["ELECTORAL_PRINT_DIR"] = str(tmp_path)
    c = login_as("secretary_a")
    url = f"/s/electoral/bureaux/{crowd.bureau_a}/emargement.pdf?scrutin={crowd.election_a}"
    c.post("/s/electoral/impressions", {"kind": "emargement", "bureau": str(crowd.bureau_a),
                                        "scrutin": str(crowd.election_a)}, csrf_from=url)
    with app.app_context():
        job = db.session.scalar(select(PrintJob))
        job.status = "queued"  # as if the task never reached a worker
        job.created_at -= dt.timedelta(minutes=10)
        db.session.commit()
        fresh = job.created_at + dt.timedelta(minutes=10)
        assert printing.requeue_stale(now=job.created_at + dt.timedelta(minutes=1)) == 0  # not stale yet
        assert printing.requeue_stale(now=fresh) == 1
        db.session.expire_all()
        assert db.session.get(PrintJob, job.id).status == "done"  # eager without Redis: ran at once
        assert printing.requeue_stale(now=fresh) == 0
