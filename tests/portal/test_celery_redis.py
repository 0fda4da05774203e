"""The production path of the outbox (DESIGN.md §4): Redis broker, a real Celery worker, idempotent delivery.

The rest of the suite runs tasks eagerly (in-process, right after the commit). Here the session's Celery app is
pointed at the Redis of ``REDIS_URL`` with a queue of its own (another test run sharing the Redis database must
not take our messages), a real worker consumes it in a thread, and the e-mail queued by ``portal.mail.queue_email``
in a request reaches the loopback SMTP server. The eager configuration is restored afterwards.

Skipped when REDIS_URL is unset (SQLite run; CI's second run sets it). When it is set but Redis does not answer,
the tests skip on a laptop and fail in CI (CI=true).
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from email.utils import make_msgid
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

REDIS_URL = os.environ.get("REDIS_URL", "").strip()


def redis_only(test):
    skip = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: REDIS_URL is not set (SQLite run; CI's second "
                                                    "run sets it)")
    return pytest.mark.redis(skip(test))


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def redis_broker():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis of REDIS_URL={REDIS_URL} does not answer: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


SESSION_QUEUE = f"extranet-tests-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def celery_worker_on_redis(app, redis_broker):
    """Switch the session's Celery app to the Redis broker and start a worker; restore everything after."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_prerun

    from portal.tasks import celery_app

    # One queue name for the whole session: Celery caches the queues it declared (app.amqp), so a second worker
    # started by this fixture with a new name would listen to one queue while tasks go to the other.
    queue = SESSION_QUEUE
    keys = ("broker_url", "result_backend", "task_always_eager", "task_default_queue", "worker_hijack_root_logger")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.close()  # drop producer pools made for the previous broker
    celery_app.conf.update(broker_url=REDIS_URL, result_backend=REDIS_URL, task_always_eager=False,
                           task_default_queue=queue, worker_hijack_root_logger=False)
    ran = []

    def _record(sender=None, task_id=None, task=None, **kwargs):
        ran.append((task.name, dict(task.request.delivery_info or {}), bool(task.request.is_eager)))

    task_prerun.connect(_record, weak=False)
    try:
        with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=30):
            yield SimpleNamespace(app=celery_app, queue=queue, ran=ran)
    finally:
        task_prerun.disconnect(_record)
        celery_app.conf.update(saved)
        celery_app.close()
        # Whatever a failed test left in our queue goes with it.
        for key in redis_broker.scan_iter(f"*{queue}*"):
            redis_broker.delete(key)


@redis_only
def test_email_queued_in_a_request_is_delivered_by_a_redis_worker(app, world, smtp, redis_broker,
                                                                  celery_worker_on_redis):
    from portal.extensions import db
    from portal.mail import deliver, queue_email
    from portal.models import OutgoingEmail

    assert not app.extensions["celery"].conf.task_always_eager
    with app.test_request_context("/mot-de-passe-oublie"):
        row = queue_email("maire@ailleville.test.example.org", "Redis path", "reset",
                          user=SimpleNamespace(full_name="Maire d'Ailleville"), link="http://portal.test/x")
        email_id = row.id
        # Nothing leaves before the user's transaction commits.
        time.sleep(0.3)
        assert smtp.messages == []
        db.session.commit()

    assert _wait_for(lambda: len(smtp.messages) >= 1), "the worker did not deliver the e-mail within 20 s"
    message = smtp.messages[0]
    assert message.subject == "Redis path" and message.to == ["maire@ailleville.test.example.org"]
    assert "http://portal.test/x" in message.text
    # … and it was the worker, fed by Redis through our queue, that ran the task (not the eager path).
    name, delivery_info, eager = celery_worker_on_redis.ran[0]
    assert name == "portal.deliver_email" and not eager
    assert delivery_info.get("routing_key") == celery_worker_on_redis.queue

    with app.app_context():
        def status():
            with Session(db.engine) as s:
                return s.get(OutgoingEmail, email_id).status
        assert _wait_for(lambda: status() == "sent", timeout=5), status()
        # Idempotent: a redelivered message (acks_late) or a flush finds the row already sent.
        assert deliver(email_id) == "skipped"
        assert deliver(email_id) == "skipped"
    time.sleep(0.3)
    assert len(smtp.messages) == 1


def _pending_row(app) -> int:
    """An outbox row written without dispatching a task (as if the broker had been down)."""
    from portal.extensions import db
    from portal.models import OutgoingEmail

    with app.app_context(), Session(db.engine) as s:
        row = OutgoingEmail(to_address="secretaire@ailleville.test.example.org", subject="Once only",
                            body_text="Bonjour", message_id=make_msgid(domain="extranet.localhost"))
        s.add(row)
        s.commit()
        return row.id


def test_deliver_twice_sends_once(app, world, smtp):
    from portal.mail import deliver

    email_id = _pending_row(app)
    with app.app_context():
        assert deliver(email_id) == "sent"
        assert deliver(email_id) == "skipped"
    assert [m.subject for m in smtp.messages] == ["Once only"]


def test_two_workers_racing_for_one_row_send_once(app, world, smtp):
    from portal.mail import deliver

    email_id = _pending_row(app)
    results, barrier = [], threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(deliver(email_id))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["sent", "skipped"]
    assert [m.subject for m in smtp.messages] == ["Once only"]


@redis_only
def test_a_hand_off_refused_by_a_down_broker_leaves_as_soon_as_it_is_back(app, world, smtp, redis_broker,
                                                                         celery_worker_on_redis):
    """The broker is unreachable when the request commits (an unused port stands for Redis stopped): the e-mail's
    hand-off is kept by the process and leaves within seconds of the broker answering again — not at the next
    periodic flush or requeue."""
    from portal import outbox
    from portal.extensions import db
    from portal.mail import queue_email

    celery = celery_worker_on_redis.app
    _switch_broker(celery, f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        with app.test_request_context("/mot-de-passe-oublie"):
            queue_email("maire@ailleville.test.example.org", "Broker back", "reset",
                        user=SimpleNamespace(full_name="Maire d'Ailleville"), link="http://portal.test/x")
            db.session.commit()  # the hand-off fails here: logged, kept, not raised
        assert outbox.pending_hand_offs() == 1
        time.sleep(2 * outbox.HANDOFF_RETRY_SECONDS)
        assert smtp.messages == [] and outbox.pending_hand_offs() == 1  # still down: still waiting
    finally:
        _switch_broker(celery, REDIS_URL)  # the broker is back
    assert _wait_for(lambda: len(smtp.messages) == 1, timeout=4 * outbox.HANDOFF_RETRY_SECONDS + 10), \
        "the e-mail did not leave once the broker was back"
    assert smtp.messages[0].subject == "Broker back"
    assert outbox.pending_hand_offs() == 0


def _closed_port() -> int:
    from tests.conftest import free_port

    return free_port()  # bound then released: nothing listens on it


def _switch_broker(celery, url: str) -> None:
    """Point the producers at ``url``, dropping every pooled connection and producer made for the previous one."""
    celery.conf.update(broker_url=url)
    if celery._pool is not None:
        celery._pool.force_close_all()
    celery._pool = None
    celery.amqp._producer_pool = None
