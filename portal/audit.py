"""Audit trail: one function every part of the portal and the services call."""
from __future__ import annotations

import logging

from flask import g, has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditEvent

log = logging.getLogger("portal.audit")


def record(action: str, *, target=None, target_type: str = "", target_id: str | int = "", collectivity=None,
           purpose: str = "", user=None, **details) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the action it records).

    ``collectivity`` defaults to the active collectivity of the request; ``user`` to the signed-in user.
    """
    if target is not None:
        target_type = target_type or type(target).__name__
        target_id = target_id or getattr(target, "id", "")
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    if collectivity is None and has_request_context():
        collectivity = g.get("collectivity")
    ev = AuditEvent(
        action=action,
        user_id=getattr(user, "id", None),
        actor=getattr(user, "email", None) or "system",
        collectivity_id=getattr(collectivity, "id", None),
        target_type=target_type,
        target_id=str(target_id),
        purpose=purpose,
        details={k: v for k, v in details.items() if v is not None},
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(ev)
    log.info("audit %s by %s on %s:%s", action, ev.actor, target_type, target_id)
    return ev
