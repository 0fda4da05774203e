"""Audit trail: one function every part of the portal and the services call, and how the journal reads it.

- :func:`record` adds an event; its ``actor`` is the signed-in person's e-mail, or what acted without one:
  ``system:department`` (a command run by the department's operators), ``system:resident`` (a resident on a public
  page), ``system:task`` (a background task, a provider's callback) — shown by :func:`actor_label` as « le
  Département », « un habitant », « tâche automatique ».
- Labels: the portal's actions and detail keys below, the services' in their descriptors (``audit_labels``,
  ``audit_detail_labels``); ``tests/portal/test_journal.py`` fails on a recorded action or detail key without one.
"""
from __future__ import annotations

import logging

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import db
from .models import AuditEvent

log = logging.getLogger("portal.audit")

# What people read in the audit log for each action; services add theirs with ``register_labels``.
ACTION_LABELS: dict[str, object] = {
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.locked": _l("Sign-in blocked after repeated failures"),
    "auth.reset_requested": _l("New password requested"),
    "auth.password_reset": _l("Password reset through the e-mail link"),
    "auth.password_changed": _l("Password changed"),
    "account.activated": _l("Account activated"),
    "account.first_created": _l("First account created"),
    "account.mayor_added": _l("Another mayor's account created"),
    "account.profile_updated": _l("Profile updated"),
    "account.suspended": _l("Account suspended"),
    "account.reactivated": _l("Account reactivated"),
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "member.invited": _l("Person invited"),
    "member.updated": _l("Access changed"),
    "member.removed": _l("Access removed"),
    "convention.created": _l("Convention recorded"),
    "convention.updated": _l("Convention changed"),
    "service.enabled": _l("Service enabled"),
    "service.disabled": _l("Service disabled"),
    "territory.loaded": _l("Territory loaded from the official files"),
    "operator.saved": _l("Intercommunal operator recorded"),
}

DETAIL_LABELS: dict[str, object] = {
    "email": _l("e-mail"),
    "role": _l("role"),
    "old_role": _l("former role"),
    "new_role": _l("new role"),
    "new_account": _l("new account"),
    "number": _l("number"),
    "status": _l("status"),
    "services": _l("services"),
    "name": _l("name"),
    "via": _l("through"),
    "service": _l("service"),
    "other_mayors": _l("mayors already there"),
    "failures_for_email": _l("failures for this e-mail"),
    "failures_from_address": _l("failures from this address"),
    "method": _l("method"),
    "old_permissions": _l("former permissions"),
    "new_permissions": _l("new permissions"),
    # Keys the services share
    "commune": _l("commune"),
    "count": _l("number"),
    "title": _l("title"),
    "kind": _l("type"),
    "size": _l("size"),
    "rows": _l("lines"),
    "files": _l("files"),
    "errors": _l("errors"),
    "department": _l("département"),
    "added": _l("added"),
    "renamed": _l("renamed"),
    "merged": _l("merged"),
    "historical": _l("kept as historical"),
    "communes": _l("communes"),
    "epci": _l("EPCI"),
}

ACTOR_LABELS: dict[str, object] = {
    "system:department": _l("the Department"),
    "system:resident": _l("a resident"),
    "system:task": _l("automatic task"),
    "system": _l("automatic task"),  # events written before the three were told apart
}


def register_labels(actions: dict[str, object], details: dict[str, object] | None = None) -> None:
    """Let a service name its own audit actions and detail keys."""
    ACTION_LABELS.update(actions)
    DETAIL_LABELS.update(details or {})


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def detail_label(key: str) -> str:
    return str(DETAIL_LABELS.get(key, key.replace("_", " ")))


def actor_label(actor: str) -> str:
    """Who acted, as the journal shows it: an e-mail, or what acted without an account."""
    return str(ACTOR_LABELS.get(actor, actor)) if (actor or "").startswith("system") else actor


def _system_actor() -> str:
    """What acts when nobody is signed in: a resident on a public page, the department's operator at the command
    line, or a background task (Celery, a provider's callback)."""
    import click

    if has_request_context():
        path = request.path
        return "system:task" if "/webhooks/" in path else "system:resident"
    return "system:department" if click.get_current_context(silent=True) is not None else "system:task"


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
        actor=getattr(user, "email", None) or _system_actor(),
        collectivity_id=getattr(collectivity, "id", None),
        target_type=target_type,
        target_id=str(target_id),
        purpose=purpose,
        details={k: v for k, v in details.items() if v is not None},
        ip=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(ev)
    log.info("audit %s by user %s on %s:%s", action, ev.user_id or "system", target_type, target_id)
    return ev


def detail_value(key: str, value) -> str:
    """A detail value as people read it: role names, yes/no, lists."""
    from flask_babel import gettext as _

    from .permissions import ROLE_LABELS, role_label

    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(detail_value(key, v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{detail_label(k)} {detail_value(k, v)}" for k, v in value.items())
    if isinstance(value, str) and value in ROLE_LABELS:
        return role_label(value)
    if key == "service":
        from .registry import registry

        service = registry.get(str(value))
        return str(service.name) if service is not None else str(value)
    return str(value)
