"""Prometheus metrics (``prometheus_client``), exposed at ``/metrics`` (OPS_TOKEN or loopback).

In the web processes: requests by endpoint, method and status, with their latency, and failed sign-ins. Under
gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` does it, see deploy/), every worker writes its
samples there and ``/metrics`` adds them up (prometheus_client's multi-process mode). At scrape time, read from
Redis and the database so that every host reports the same thing: Celery queue lengths, task outcomes (counted by
the workers in Redis), and the outboxes' backlog (rows still waiting to be sent).
"""
from __future__ import annotations

import os
import time

from flask import Flask, g, request

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # must exist before the first metric is made
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,  # noqa: E402
                               generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily  # noqa: E402

REQUESTS = Counter("extranet_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram("extranet_http_request_duration_seconds", "Time to answer a request", ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LOGIN_FAILURES = Counter("extranet_login_failures_total", "Failed sign-ins")

TASK_OUTCOMES_KEY = "extranet:ops:task-outcomes"  # Redis hash "task|outcome" → count
# Tables used as outboxes: rows in these states are work not done yet.
OUTBOXES = {"outgoing_email": ("pending",), "alerts_delivery": ("pending",), "cadastre_import_job": ("queued",),
            "electoral_print_job": ("queued",)}
QUEUES = ("celery",)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.ops_started = time.perf_counter()

    @app.teardown_request
    def _observe(exc):
        started = g.pop("ops_started", None)
        if started is None:
            return
        endpoint = request.endpoint or "unmatched"  # 404s: one label, not one per URL tried
        status = g.pop("ops_status", 500 if exc is not None else 200)
        REQUESTS.labels(endpoint, request.method, str(status)).inc()
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)

    @app.after_request
    def _status(response):
        g.ops_status = response.status_code
        return response

    from sqlalchemy import event

    from ..models import LoginAttempt

    @event.listens_for(LoginAttempt, "after_insert")
    def _failed_sign_in(mapper, connection, target):
        if not target.success:
            LOGIN_FAILURES.inc()


class _AtScrape:
    """Collector reading Redis and the database when /metrics is asked (inside the request's app context)."""

    def collect(self):
        from flask import current_app
        from sqlalchemy import text

        from ..extensions import db
        from ..tenancy import territory_scope
        from .health import redis_client

        queues = GaugeMetricFamily("extranet_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"])
        outcomes = CounterMetricFamily("extranet_celery_tasks", "Tasks run by the workers", labels=["task", "outcome"])
        redis = redis_client()
        if redis is not None:
            try:
                for q in QUEUES:
                    queues.add_metric([q], redis.llen(q))
                for field, count in sorted(redis.hgetall(TASK_OUTCOMES_KEY).items()):
                    task, _, outcome = field.decode().rpartition("|")
                    outcomes.add_metric([task, outcome], float(count))
            except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
                current_app.logger.warning("metrics: Redis unreachable: %s", exc)
        yield queues
        yield outcomes
        backlog = GaugeMetricFamily("extranet_outbox_backlog", "Outbox rows not sent yet", labels=["outbox"])
        tables = set(db.metadata.tables)
        with territory_scope(None):
            for table, states in OUTBOXES.items():
                if table not in tables:
                    continue
                try:
                    placeholders = ", ".join(f":s{i}" for i in range(len(states)))
                    n = db.session.execute(text(f"SELECT count(*) FROM {table} WHERE status IN ({placeholders})"),
                                           {f"s{i}": s for i, s in enumerate(states)}).scalar()
                    backlog.add_metric([table], n)
                except Exception as exc:  # noqa: BLE001
                    db.session.rollback()
                    current_app.logger.warning("metrics: backlog of %s unreadable: %s", table, exc)
            db.session.rollback()
        yield backlog


def exposition() -> tuple[bytes, str]:
    registry = CollectorRegistry()
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=folder)
    else:  # one process (flask run, tests): this process's own samples
        for collector in (REQUESTS, LATENCY, LOGIN_FAILURES):
            registry.register(collector)
    registry.register(_AtScrape())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def count_task_outcome(task_name: str, outcome: str) -> None:
    """Called by the Celery signals of the worker (portal/ops/tasks.py)."""
    from .health import redis_client

    redis = redis_client()
    if redis is not None:
        redis.hincrby(TASK_OUTCOMES_KEY, f"{task_name}|{outcome}", 1)
