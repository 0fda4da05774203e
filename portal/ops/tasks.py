"""Celery tasks of the operations side: the nightly backup (and its verification), the worker heartbeat."""
from __future__ import annotations

import logging
import time

from celery.signals import before_task_publish, task_failure, task_retry, task_success

from ..tasks import celery_app

log = logging.getLogger(__name__)

HEARTBEAT_TASK = "portal.ops.heartbeat"
WORKER_KEY = "extranet:ops:worker-heartbeat"  # Unix time of the last heartbeat a worker ran
BEAT_KEY = "extranet:ops:beat-last-run"  # Unix time beat last sent the heartbeat


@celery_app.task(name="portal.ops.backup", acks_late=False)  # a backup killed half-way is not run twice in a row
def nightly_backup():
    from flask import current_app

    from .backup import BackupError, create_backup, verify
    from .health import redis_client

    try:
        result = create_backup()
    except BackupError as exc:
        log.error("nightly backup failed: %s", exc)
        return "failed"
    if result.archive.name.endswith(".age") and not current_app.config.get("BACKUP_AGE_IDENTITY_FILE"):
        return "ok"  # encrypted, the key is off the server: verify elsewhere (flask ops verify --identity)
    if not current_app.config.get("BACKUP_SCRATCH_DATABASE_URL") and \
            not current_app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return "ok"
    try:
        verify(result.archive)
    except BackupError as exc:
        log.error("nightly backup %s failed its verification: %s", result.archive.name, exc)
        return "unverified"
    redis = redis_client()
    if redis is not None:
        redis.set("extranet:ops:last-verified", time.time())
    return "ok"


@celery_app.task(name=HEARTBEAT_TASK, ignore_result=True, acks_late=False)
def heartbeat():
    from .health import redis_client

    redis = redis_client()
    if redis is not None:
        redis.set(WORKER_KEY, time.time(), ex=3600)


@before_task_publish.connect
def _beat_sent(sender=None, **_):
    """In beat's process, sending the heartbeat is the proof beat runs (the worker's key proves the worker does)."""
    if sender != HEARTBEAT_TASK:
        return
    from ..tasks import _state
    from .health import redis_client

    app = _state["app"]  # beat's process has the app (portal.worker) but no app context
    try:
        with app.app_context():
            redis = redis_client()
            if redis is not None:
                redis.set(BEAT_KEY, time.time(), ex=3600)
    except Exception as exc:  # noqa: BLE001 - the heartbeat must never stop the send
        log.warning("beat heartbeat not recorded: %s", exc)


def _outcome(outcome: str):
    def handler(sender=None, **_):
        from ..tasks import _state
        from .metrics import count_task_outcome

        try:
            with _state["app"].app_context():  # the signal comes after the task's own app context is gone
                count_task_outcome(getattr(sender, "name", str(sender)), outcome)
        except Exception as exc:  # noqa: BLE001 - counting never fails a task
            log.warning("task outcome not counted: %s", exc)
    return handler


_on_success, _on_failure, _on_retry = _outcome("success"), _outcome("failure"), _outcome("retry")
task_success.connect(_on_success, weak=False)
task_failure.connect(_on_failure, weak=False)
task_retry.connect(_on_retry, weak=False)
