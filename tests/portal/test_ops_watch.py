"""Watching an instance: /healthz stays cheap, /healthz/deep and /metrics for operators only, the department's
« Exploitation » page and its warning on the collectivities page, request ids in responses, logs and tasks."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time

import pytest

REMOTE = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def without_redis(app, monkeypatch):
    """The embedded default's checks (no broker): Redis, worker and beat are "not used" (the Redis run has its own
    test below, with a real worker)."""
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    app.extensions.pop("ops_redis", None)
    yield
    app.extensions.pop("ops_redis", None)


def test_healthz_is_cheap_and_public(app, client):
    resp = client.http.get("/healthz", environ_base=REMOTE)
    assert resp.status_code == 200 and resp.json == {"status": "ok", "database": "ok"}


def test_deep_health_for_loopback_token_or_department_staff(app, world, client, login_as, monkeypatch,
                                                            without_redis):
    monkeypatch.setitem(app.config, "OPS_TOKEN", "ops-token-of-the-tests-0123456789")
    assert client.http.get("/healthz/deep", environ_base=REMOTE).status_code == 404
    wrong = client.http.get("/healthz/deep", environ_base=REMOTE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    resp = client.http.get("/healthz/deep", environ_base=REMOTE,
                           headers={"Authorization": "Bearer ops-token-of-the-tests-0123456789"})
    assert resp.status_code == 200, resp.json
    checks = resp.json["checks"]
    assert set(checks) == {"database", "redis", "worker", "beat", "disk", "backup"}
    assert checks["database"]["status"] == "ok"
    assert checks["backup"] == {"status": "warning", "detail": "no backup yet"}
    assert resp.json["status"] == "warning"
    assert client.http.get("/healthz/deep").status_code == 200  # loopback (the test client's address)

    mayor = login_as("mayor_a", world.a)
    assert mayor.http.get("/healthz/deep", environ_base=REMOTE).status_code == 404
    admin = login_as("dept_admin", world.dept)
    assert admin.http.get("/healthz/deep", environ_base=REMOTE).status_code == 200


def test_deep_health_reports_an_old_or_failed_backup(app, world, client, without_redis):
    from portal.extensions import db
    from portal.models import utcnow
    from portal.ops.models import BackupRun

    with app.app_context():
        db.session.add(BackupRun(status="ok", archive="extranet-old.tar.gz", size=10,
                                 started_at=utcnow() - dt.timedelta(hours=30),
                                 finished_at=utcnow() - dt.timedelta(hours=27)))
        db.session.commit()
    backup = client.http.get("/healthz/deep").json["checks"]["backup"]
    assert backup["status"] == "warning" and backup["hours_ago"] >= 27 and backup["archive"] == "extranet-old.tar.gz"
    with app.app_context():
        db.session.add(BackupRun(status="ok", archive="extranet-new.tar.gz", size=2048, verification="ok",
                                 started_at=utcnow(), finished_at=utcnow()))
        db.session.commit()
    backup = client.http.get("/healthz/deep").json["checks"]["backup"]
    assert backup["status"] == "ok" and backup["archive"] == "extranet-new.tar.gz"
    with app.app_context():
        db.session.add(BackupRun(status="failed", error="pg_dump failed: disk full", started_at=utcnow()))
        db.session.commit()
    assert client.http.get("/healthz/deep").json["checks"]["backup"]["status"] == "warning"


def test_deep_health_answers_503_when_the_database_is_down(app, world, client, monkeypatch):
    from portal.ops import health

    monkeypatch.setattr(health, "check_database", lambda: {"status": "error", "detail": "unreachable"})
    resp = client.http.get("/healthz/deep")
    assert resp.status_code == 503 and resp.json["status"] == "error"


def test_department_operations_page_and_banner(app, world, login_as, without_redis):
    from portal.extensions import db
    from portal.models import utcnow
    from portal.ops.models import BackupRun

    admin = login_as("dept_admin", world.dept)
    page = admin.get("/admin/collectivites")
    text = page.get_data(as_text=True)
    assert "Aucune sauvegarde du portail n'a encore été faite." in text
    with app.app_context():
        db.session.add(BackupRun(status="ok", archive="extranet-20261205T013000Z.tar.gz", size=5 * 1024 * 1024,
                                 started_at=utcnow() - dt.timedelta(hours=40),
                                 finished_at=utcnow() - dt.timedelta(hours=40), verification="ok",
                                 verified_at=utcnow() - dt.timedelta(hours=39)))
        db.session.commit()
    text = admin.get("/admin/collectivites").get_data(as_text=True)
    assert "La dernière sauvegarde date de 40 heures." in text
    resp = admin.get("/admin/exploitation")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "extranet-20261205T013000Z.tar.gz" in text and "5 Mo" in text and "Vérifiée le" in text
    assert "Base de données" in text and "non utilisé (tâches exécutées dans le portail)" in text
    with app.app_context():
        db.session.add(BackupRun(status="ok", archive="extranet-now.tar.gz", size=1, started_at=utcnow(),
                                 finished_at=utcnow()))
        db.session.commit()
    assert "sauvegarde" not in admin.get("/admin/collectivites").get_data(as_text=True).split("<h1>")[1][:400]

    assert login_as("mayor_a", world.a).get("/admin/exploitation").status_code == 403
    assert login_as("dept_agent", world.dept).get("/admin/exploitation").status_code == 200


def test_metrics_count_requests_and_failed_sign_ins(app, world, client, monkeypatch):
    assert client.http.get("/metrics", environ_base=REMOTE).status_code == 404
    client.http.get("/healthz")
    client.post("/connexion", data={"email": world.users["mayor_a"].email, "password": "not the password"},
                csrf_from="/connexion")
    body = client.http.get("/metrics").get_data(as_text=True)
    assert 'extranet_http_requests_total{endpoint="healthz",method="GET",status="200"}' in body
    assert 'extranet_http_request_duration_seconds_bucket{endpoint="healthz",le="0.005"}' in body
    failures = [line for line in body.splitlines() if line.startswith("extranet_login_failures_total ")]
    assert failures and float(failures[0].split()[1]) >= 1
    assert 'extranet_outbox_backlog{outbox="outgoing_email"}' in body
    monkeypatch.setitem(app.config, "OPS_TOKEN", "metrics-token-0123456789abcdef")
    resp = client.http.get("/metrics", environ_base=REMOTE,
                           headers={"Authorization": "Bearer metrics-token-0123456789abcdef"})
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain")


def test_request_id_is_sent_back_and_logged_as_json(app, client, caplog):
    from portal.ops.logs import JsonFormatter, RequestIdFilter

    given = client.http.get("/healthz", headers={"X-Request-ID": "abcdef0123456789"})
    assert given.headers["X-Request-ID"] == "abcdef0123456789"
    drawn = client.http.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(drawn.headers["X-Request-ID"]) == 32 and drawn.headers["X-Request-ID"] != "bad id with spaces"

    record = logging.LogRecord("portal.test", logging.WARNING, __file__, 1, "mail to %s refused", ("a@b.fr",), None)
    from portal.ops.logs import request_id

    token = request_id.set("feedface12345678")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "feedface12345678" and line["level"] == "WARNING"
    assert line["message"] == "mail to <address> refused"  # no personal data in logs


def test_request_id_goes_into_the_message_headers_of_a_task(app):
    """Handing work to Celery from a request copies its id into the message (before_task_publish), which the
    worker puts back while the task runs (task_prerun)."""
    from celery import Celery

    from portal.ops.logs import request_id

    other = Celery("ops-test", broker="memory://")  # the portal's own Celery app keeps its broker untouched
    token = request_id.set("0123456789abcdef")
    try:
        with other.connection_for_write() as conn:
            other.send_task("portal.ops.heartbeat", connection=conn, queue="ops-test")
            message = conn.SimpleQueue("ops-test").get(timeout=2)
    finally:
        request_id.reset(token)
    assert message.headers["request_id"] == "0123456789abcdef"
    message.ack()


def test_nightly_backup_and_heartbeat_are_scheduled(app):
    from celery.schedules import crontab

    from portal.ops import beat_entries

    entries = beat_entries(app)
    assert entries["ops-nightly-backup"]["schedule"] == crontab(hour=2, minute=30)
    assert entries["ops-heartbeat"]["task"] == "portal.ops.heartbeat"
    with pytest.raises(ValueError, match="BACKUP_AT must be HH:MM"):
        beat_entries(type("A", (), {"config": {"BACKUP_AT": "25:00"}})())


from tests.portal.test_celery_redis import (_wait_for, celery_worker_on_redis, redis_broker,  # noqa: E402,F401
                                            redis_only)


@redis_only
def test_heartbeat_through_a_real_worker_feeds_deep_health_metrics_and_request_id(app, world, client, monkeypatch,
                                                                                  celery_worker_on_redis,
                                                                                  redis_broker):
    """beat's send of the heartbeat (here: this process, as beat does) marks beat alive; the worker running it marks
    the worker alive; its outcome is counted in Redis for /metrics; the request id travels in the message."""
    from celery.signals import task_prerun

    from portal.ops import logs
    from portal.ops.tasks import BEAT_KEY, WORKER_KEY

    monkeypatch.setitem(app.config, "REDIS_URL", os.environ["REDIS_URL"])
    app.extensions.pop("ops_redis", None)
    long_ago = time.time() - 7200
    redis_broker.set(WORKER_KEY, long_ago)
    redis_broker.set(BEAT_KEY, long_ago)
    before = client.http.get("/healthz/deep").json["checks"]
    assert before["worker"]["status"] == "error" and before["beat"]["status"] == "error"
    assert before["worker"]["seconds_ago"] >= 7200

    seen = []

    def _seen(task=None, **_):
        if task is not None and task.name == "portal.ops.heartbeat":
            seen.append(logs.request_id.get())

    task_prerun.connect(_seen, weak=False)
    token = logs.request_id.set("cafe0123456789ab")
    try:
        celery_worker_on_redis.app.send_task("portal.ops.heartbeat", queue=celery_worker_on_redis.queue)
        assert _wait_for(lambda: float(redis_broker.get(WORKER_KEY)) > long_ago + 60, timeout=90), \
            celery_worker_on_redis.ran
    finally:
        logs.request_id.reset(token)
        task_prerun.disconnect(_seen)
    assert seen == ["cafe0123456789ab"]
    checks = client.http.get("/healthz/deep").json["checks"]
    assert checks["worker"]["status"] == "ok" and checks["beat"]["status"] == "ok" and checks["redis"]["status"] == "ok"
    assert _wait_for(lambda: 'extranet_celery_tasks_total{outcome="success",task="portal.ops.heartbeat"}'
                     in client.http.get("/metrics").get_data(as_text=True)), \
        [ln for ln in client.http.get("/metrics").get_data(as_text=True).splitlines() if "celery" in ln]
    assert 'extranet_celery_queue_length{queue="celery"}' in client.http.get("/metrics").get_data(as_text=True)
    app.extensions.pop("ops_redis", None)
