"""A request id on every log line of a request and of the tasks it queued; JSON lines when LOG_JSON is set.

The id comes from the proxy's ``X-Request-ID`` (nginx ``$request_id``, deploy/nginx) when it looks like one, else is
drawn here; it is sent back in the response's ``X-Request-ID``. Handing work to Celery copies it into the message's
headers (``before_task_publish``), and the worker puts it back while the task runs (``task_prerun``), so one id
follows a user's action from nginx's access log to the e-mail a worker sent. Messages go through
:func:`portal.logs.redact` (no addresses or phone numbers in logs).
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import secrets

from celery.signals import before_task_publish, task_postrun, task_prerun
from flask import Flask, request

from ..logs import redact

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_name: contextvars.ContextVar[str] = contextvars.ContextVar("task_name", default="")
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task = task_name.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, task, exception, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        rid = getattr(record, "request_id", "") or request_id.get()
        if rid:
            out["request_id"] = rid
        task = getattr(record, "task", "") or task_name.get()
        if task:
            out["task"] = task
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out and key not in ("request_id", "task"):
                out[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)
        return json.dumps(out, ensure_ascii=False)


def configure(json_lines: bool) -> None:
    """Add the request id to every handler of the root logger (and JSON lines when asked)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if json_lines:
            handler.setFormatter(JsonFormatter())


def init_app(app: Flask) -> None:
    configure(bool(app.config.get("LOG_JSON")))

    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-ID", "")
        request.environ["extranet.request_id_token"] = request_id.set(
            given if _VALID.match(given) else secrets.token_hex(16))

    @app.after_request
    def _send_it_back(response):
        rid = request_id.get()
        if rid:
            response.headers["X-Request-ID"] = rid
        return response

    @app.teardown_request
    def _forget(exc):
        token = request.environ.pop("extranet.request_id_token", None)
        if token is not None:
            try:
                request_id.reset(token)
            except ValueError:  # reset from another context (streamed responses): just clear it
                request_id.set("")


@before_task_publish.connect
def _carry(headers=None, **_):
    rid = request_id.get()
    if rid and headers is not None and "request_id" not in headers:
        headers["request_id"] = rid


@task_prerun.connect
def _take(task=None, **_):
    rid = task.request.get("request_id") if task is not None else None
    if rid:
        request_id.set(str(rid))
    task_name.set(task.name if task is not None else "")


@task_postrun.connect
def _drop(task=None, **_):
    if task is not None and not task.request.is_eager:
        request_id.set("")
    task_name.set("")
