"""Benchmark of the alerts e-mail delivery.

    .venv/bin/python bench/alerts.py [--recipients 10000] [--redis redis://127.0.0.1:6379/7]
                                     [--database postgresql://postgres@127.0.0.1:5432/extranet_alerts_bench]
                                     [--concurrency 1]

What it measures, in one run, against one real SMTP server on loopback (aiosmtpd, in this process):

1. **Bare loop**: ``smtplib`` sending the same N messages (the service's own ``build_email`` output) over one
   connection, nothing else — the ceiling.
2. **Through the queue**: an alert to N confirmed subscribers is committed (alert + N outbox rows in one transaction),
   the batches go to Redis, and real Celery worker processes (``celery -A portal.worker worker``) deliver them.
   Throughput = N / (time from commit to the N-th message received by the SMTP server).
3. **Kill and restart**: a second alert to the same N; the worker is killed (SIGKILL, whole process group) once half
   the messages arrived, then started again; rows a dead worker left "sending" are reclaimed the way the beat's
   ``alerts.flush`` does after ``STALE_SENDING``. Every recipient must have received exactly one message: counted at
   the SMTP server, per recipient.

The database is SQLite in a temporary folder unless --database is given (PostgreSQL recommended with several worker
processes). Nothing here is used by the tests (tests never time things).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Counting:
    def __init__(self):
        self.by_rcpt: Counter = Counter()
        self.lock = threading.Lock()
        self.total = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        with self.lock:
            for r in envelope.rcpt_tos:
                self.by_rcpt[r] += 1
            self.total += 1
        return "250 OK"

    def reset(self):
        with self.lock:
            self.by_rcpt.clear()
            self.total = 0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipients", type=int, default=10_000)
    ap.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"))
    ap.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", ""))
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    n = args.recipients

    from aiosmtpd.controller import Controller

    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()

    tmp = tempfile.mkdtemp(prefix="alerts-bench-")
    db_url = args.database or f"sqlite:///{tmp}/bench.sqlite3"
    if args.database:  # a superuser URL: the portal and its worker run as the application role (portal/dbroles.py)
        from portal.dbroles import use_roles_for

        use_roles_for(args.database, reset=True)
        db_url = os.environ["DATABASE_URL"]
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=args.redis, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port),
               SECRET_KEY="bench-secret", BASE_URL="http://bench.localhost", INSTANCE_PATH=tmp,
               CELERY_EAGER="0", PYTHONPATH=str(ROOT))
    os.environ.update(env)

    import redis
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from portal import create_app
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.alerts import delivery, messages
    from services.alerts.models import Alert, AlertList, Delivery, Subscriber, Subscription, utcnow

    redis.Redis.from_url(args.redis).flushdb()
    app = create_app({})
    from portal.tasks import celery_app

    queue = f"alerts-bench-{os.getpid()}"  # a queue of its own: no other worker takes these tasks
    celery_app.conf.task_default_queue = queue
    with app.app_context(), territory_scope(None):
        upgrade(revision="heads")  # PostgreSQL: as the owner role, on the schema use_roles_for emptied
        insee = "10002"
        lst = AlertList(commune_insee=insee, name="Alertes de sécurité", purpose="bench")
        db.session.add(lst)
        db.session.flush()
        now = utcnow()
        db.session.execute(Subscriber.__table__.insert(), [
            {"commune_insee": insee, "token": f"bench-token-{i:06d}", "email": f"r{i:05d}@bench.example.org",
             "address": "", "email_confirmed_at": now, "sms_code_hash": "", "sms_code_attempts": 0,
             "email_invalid": "", "phone_invalid": "", "created_at": now} for i in range(n)])
        ids = db.session.scalars(select(Subscriber.id).order_by(Subscriber.id)).all()
        db.session.execute(Subscription.__table__.insert(), [
            {"commune_insee": insee, "subscriber_id": sid, "list_id": lst.id, "consent_text": "bench",
             "consent_channel": "email", "consented_at": now, "unsubscribe_channel": ""} for sid in ids])
        db.session.commit()
        list_id = lst.id

        # 1. Bare smtplib loop over the same messages the service builds.
        alert = Alert(commune_insee=insee, kind="broadcast", title="Crue de l'Aube", body="Montée des eaux " * 20,
                      severity="severe", channels=["email"], list_ids=[list_id], status="queued", sent_at=now)
        subs = db.session.scalars(select(Subscriber).order_by(Subscriber.id)).all()
        bare_messages = []
        with app.test_request_context(base_url="http://bench.localhost"):
            for sub in subs:
                d = Delivery(key=f"bare{sub.id}", channel="email", address=sub.email)
                bare_messages.append(messages.build_email(d, alert, sub, "Ailleville"))
        handler.reset()
        t0 = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for msg in bare_messages:
                smtp.send_message(msg)
        bare = time.perf_counter() - t0
        assert handler.total == n, handler.total
        print(f"bare smtplib loop: {n} messages in {bare:.2f} s = {n / bare:.0f} msg/s")

    def start_worker():
        return subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "portal.worker", "worker", "-l", "warning",
             f"--concurrency={args.concurrency}", "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=str(ROOT), env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/worker.log", "ab"))

    def send_alert(title):
        with app.app_context(), territory_scope(None):
            a = Alert(commune_insee="10002", kind="broadcast", title=title, body="Montée des eaux " * 20,
                      severity="severe", channels=["email"], list_ids=[list_id], status="queued", sent_at=utcnow())
            db.session.add(a)
            delivery.queue_alert(a, delivery.recipients("10002", [list_id], ["email"]))
            db.session.commit()
            return a.id

    def wait_for(total, timeout=1800):
        end = time.time() + timeout
        while handler.total < total and time.time() < end:
            time.sleep(0.05)
        return handler.total

    workers = []

    def start_worker_tracked():
        w = start_worker()
        workers.append(w)
        return w

    try:
        return measure(args, n, handler, controller, app, start_worker_tracked, send_alert, wait_for, bare)
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
        controller.stop()


def measure(args, n, handler, controller, app, start_worker, send_alert, wait_for, bare):
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.alerts import delivery
    from services.alerts.models import Delivery, utcnow

    # 2. Through the queue, uninterrupted.
    worker = start_worker()
    time.sleep(4)  # worker boot, outside the measure
    handler.reset()
    t0 = time.perf_counter()
    send_alert("Débit")
    got = wait_for(n)
    queued = time.perf_counter() - t0
    print(f"through the queue (Redis + {args.concurrency} worker process(es)): {got} messages in {queued:.2f} s = "
          f"{got / queued:.0f} msg/s → {100 * bare / queued:.0f} % of the bare loop")
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)

    # 3. Kill at half-way, restart.
    handler.reset()
    worker = start_worker()
    time.sleep(4)
    alert_id = send_alert("Reprise")
    wait_for(n // 2)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    at_kill = handler.total
    print(f"worker killed (SIGKILL) after {at_kill} messages")
    time.sleep(1)
    worker = start_worker()
    # The restarted worker takes the batches still queued; batches the killed worker had taken come back when the
    # broker's visibility timeout expires, and rows it left "sending" when the beat's alerts.flush reclaims them
    # (after STALE_SENDING). Wait until the SMTP count stops growing, then run that flush as the beat would.
    def settle():
        last, still = -1, 0
        while still < 6:
            time.sleep(0.5)
            still = still + 1 if handler.total == last else 0
            last = handler.total

    settle()
    with app.app_context(), territory_scope(None):
        stuck = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.alert_id == alert_id, Delivery.status == "sending"))
        pending = db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.alert_id == alert_id, Delivery.status == "pending"))
        received_before_flush = handler.total
        db.session.rollback()
        flushed: Counter = Counter()
        for _ in range(10):  # the beat, once a minute, until nothing is left
            flushed.update(delivery.flush(now=utcnow() + delivery.STALE_SENDING + dt.timedelta(seconds=1)))
            settle()
            left = db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.alert_id == alert_id, Delivery.status.in_(("pending", "sending"))))
            db.session.rollback()
            if not left:
                break
        statuses = dict(db.session.execute(select(Delivery.status, func.count()).where(
            Delivery.alert_id == alert_id).group_by(Delivery.status)).all())
    print(f"before the beat's flush: {received_before_flush} received, {stuck} rows left 'sending' by the killed "
          f"worker, {pending} pending (batches the dead worker had reserved); flush: {dict(flushed)}")
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)
    counts = Counter(handler.by_rcpt.values())
    missing = n - len(handler.by_rcpt)
    duplicates = sum(1 for v in handler.by_rcpt.values() if v > 1)
    print(f"after restart: {handler.total} messages for {len(handler.by_rcpt)} recipients; statuses {statuses}; "
          f"received exactly once: {counts.get(1, 0)}, missing: {missing}, more than once: {duplicates}")
    ok = missing == 0 and duplicates == 0 and bare / queued >= 0.7
    print("RESULT:", "OK" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
