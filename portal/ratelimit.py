"""Rate limits of the public forms (Flask-Limiter) and their honeypot field.

A public form that makes the portal send something (a tender question e-mails the buyer, an alert sign-up e-mails a
confirmation or sends an SMS code) is limited twice, on POST only: per client address
(``PUBLIC_FORM_LIMIT_PER_ADDRESS``, default 5 a minute and 30 an hour) and per target — the tender, the commune —
whoever sends (``PUBLIC_FORM_LIMIT_PER_TARGET``, default 60 an hour). Counters live in Redis when ``REDIS_URL`` is
set (shared by every worker), in memory otherwise. Over the limit the person gets the portal's 429 page, in French.

The honeypot: the forms carry a ``website`` field hidden from people (``.hp-field``); a robot that fills it is
answered as if all went well, and nothing is sent.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

log = logging.getLogger(__name__)

HONEYPOT_FIELD = "website"

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def init_limiter(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "extranet")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis down: the forms still work, unlimited
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    # Only views decorated with a limit are limited here, and their decorator checks the limits when the view is
    # called; the check Flask-Limiter also runs before every request then finds nothing to count (no default,
    # application, meta or blueprint limit) and costs about 0.1 ms of CPU on every request. It runs only when such
    # a limit exists (looked at on the first request, once every view and blueprint is declared).
    manager, middleware, needed = limiter.limit_manager, limiter._check_request_limit, []

    def _check_request_limit():
        if not needed:
            needed.append(bool(manager.default_limits or manager.application_limits
                               or app.config.get("RATELIMIT_META") or getattr(manager, "_blueprint_limits", True)))
        return middleware() if needed[0] else None

    funcs = app.before_request_funcs.setdefault(None, [])
    funcs[:] = [_check_request_limit if getattr(f, "__func__", None) is Limiter._check_request_limit else f
                for f in funcs]


def _per_address() -> str:
    return current_app.config.get("PUBLIC_FORM_LIMIT_PER_ADDRESS") or "5 per minute;30 per hour"


def _per_target() -> str:
    return current_app.config.get("PUBLIC_FORM_LIMIT_PER_TARGET") or "60 per hour"


def public_form(target):
    """Decorator of a public form's view: the two limits above on POST; ``target(view_args)`` names what is
    targeted (``lambda a: f"tender:{a['tender_id']}"``)."""
    def decorate(view):
        by_target = limiter.limit(_per_target, methods=["POST"],
                                  key_func=lambda: f"{request.endpoint}:{target(request.view_args or {})}")
        by_address = limiter.limit(_per_address, methods=["POST"])
        return by_address(by_target(view))
    return decorate


def honeypot_filled(what: str) -> bool:
    """True (and logged) when the hidden field of a public form was filled: a robot; send nothing."""
    if request.form.get(HONEYPOT_FIELD):
        log.warning("%s dropped: honeypot field filled (from %s)", what, request.remote_addr)
        return True
    return False
