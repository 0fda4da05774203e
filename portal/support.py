"""The department's support mode (DESIGN.md §2).

Department staff administer collectivities; they do not browse personal data (voters, owners). When a mairie asks
for help, a staff member holding ``support.enter`` opens a support session on that collectivity, stating why and for
how long (at most two hours). Meanwhile:

- the active collectivity is the supported one and its territory applies (the one choke point of tenancy.py);
- permissions are read-only: each service's access permission and its ``*.read`` permissions, the members list and
  the audit log — nothing that writes;
- every page seen is an audit event of that collectivity (``support.page``), so the mayor reads in the mairie's
  audit log who looked at what, and why; the mayors are told by e-mail when the session opens;
- the session ends when the agent leaves it, when it expires, or when the agent loses the department role.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from . import audit
from .extensions import db
from .forms import ConfirmForm, SupportForm
from .models import SUPPORT_DURATIONS, Collectivity, Membership, SupportSession, User, utcnow
from .permissions import ROLE_MAYOR, membership_permissions

log = logging.getLogger(__name__)

SESSION_KEY = "support_session_id"

bp = Blueprint("support", __name__, url_prefix="/assistance")

audit.register_labels({
    "support.started": _l("Department support mode opened"),
    "support.ended": _l("Department support mode closed"),
    "support.expired": _l("Department support mode expired"),
    "support.page": _l("Page seen in department support mode"),
}, {"minutes": _l("Duration (minutes)"), "path": _l("Page"), "agent": _l("Department agent")})


def support_permissions() -> set[str]:
    """Read-only: what lets the agent see what the mairie sees, never change it."""
    from .registry import registry

    perms = {"members.read", "audit.read"}
    for service in registry.all():
        if service.access_permission:
            perms.add(service.access_permission)
        perms |= {p for p in service.permissions if p.endswith(".read")}
    return perms


def _department_membership(user: User) -> Membership | None:
    for m in user.memberships:
        if m.collectivity.is_operator and "support.enter" in membership_permissions(m):
            return m
    return None


def _close(sup: SupportSession, reason: str, when: dt.datetime) -> None:
    sup.ended_at, sup.end_reason = when, reason
    audit.record("support.expired" if reason == "expired" else "support.ended", target=sup,
                 collectivity=sup.collectivity, user=sup.user, agent=sup.user.email)


def apply(user: User) -> bool:
    """Called by the request context: when the signed-in agent has an open support session, make its collectivity
    the active one with read-only permissions, record the page, and return True. Otherwise False (and a session
    that has just expired is closed and the agent told)."""
    sid = session.get(SESSION_KEY)
    if sid is None:
        return False
    sup = db.session.get(SupportSession, sid) if isinstance(sid, int) else None
    now = utcnow()
    if sup is None or sup.user_id != user.id:
        session.pop(SESSION_KEY, None)
        return False
    if not sup.is_open(now) or _department_membership(user) is None:
        if sup.ended_at is None:
            _close(sup, "expired" if sup.expires_at <= now else "revoked", min(now, sup.expires_at))
            db.session.commit()
        session.pop(SESSION_KEY, None)
        flash(_("The support session on %(name)s has ended.", name=sup.collectivity.name), "info")
        return False
    g.support = sup
    g.collectivity = sup.collectivity
    g.membership = None
    g.permissions = support_permissions()
    if request.endpoint not in (None, "static", "support.leave"):
        audit.record("support.page", target=sup, collectivity=sup.collectivity, path=request.path,
                     method=request.method if request.method != "GET" else None)
        db.session.commit()  # before the request's own transaction: the record stays even if the view fails
    _refuse_writes()
    return True


# What an agent in support mode may still send: leave it, sign out, and the forms that only read (search boxes
# sent with POST have none in the portal today).
WRITES_ALLOWED = {"support.leave", "auth.logout"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _refuse_writes() -> None:
    """Support mode is read-only, enforced here once for every route of the portal and its services: any other
    method than GET/HEAD/OPTIONS is refused (403) with a French message, whatever the view's permission check."""
    if request.method in SAFE_METHODS or request.endpoint in WRITES_ALLOWED:
        return
    from werkzeug.exceptions import Forbidden

    log.info("support mode: %s %s refused (read-only)", request.method, request.path)
    refusal = Forbidden()
    refusal.portal_message = _("Support mode is read-only: nothing can be changed. Leave it to act for the "
                               "department.")
    raise refusal


@bp.post("/ouvrir/<int:collectivity_id>")
@login_required
def start(collectivity_id: int):
    if g.get("support") is not None:
        flash(_("Leave the current support session first."), "error")
        return redirect(url_for("home.index"))
    if g.collectivity is None or not g.collectivity.is_operator or "support.enter" not in g.permissions:
        abort(403)
    coll = db.session.get(Collectivity, collectivity_id)  # the administered ones only (portal/tenancy.py)
    if coll is None or coll.is_operator:
        abort(404)
    form = SupportForm()
    if not form.validate_on_submit() or form.duration.data not in SUPPORT_DURATIONS:
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        log.info("support mode refused for user %s on collectivity %s: %s", current_user.id, coll.id,
                 sorted(form.errors))
        return redirect(url_for("admin.collectivity", collectivity_id=coll.id) + "#support")
    now = utcnow()
    sup = SupportSession(user_id=current_user.id, collectivity_id=coll.id, reason=form.reason.data.strip(),
                         started_at=now, expires_at=now + dt.timedelta(minutes=form.duration.data))
    db.session.add(sup)
    db.session.flush()
    audit.record("support.started", target=sup, collectivity=coll, purpose=sup.reason, minutes=form.duration.data,
                 agent=current_user.email)
    _tell_the_mayors(coll, sup)
    db.session.commit()
    session[SESSION_KEY] = sup.id
    log.info("support mode opened by user %s on collectivity %s (%s min)", current_user.id, coll.id,
             form.duration.data)
    flash(_("Support mode on %(name)s: what you see is recorded in its audit log.", name=coll.name), "warning")
    return redirect(url_for("home.index"))


@bp.post("/quitter")
@login_required
def leave():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    sup = g.get("support")
    session.pop(SESSION_KEY, None)
    if sup is None:
        return redirect(url_for("home.index"))
    _close(sup, "ended", utcnow())
    db.session.commit()
    flash(_("Support session on %(name)s closed.", name=sup.collectivity.name), "success")
    return redirect(url_for("admin.collectivity", collectivity_id=sup.collectivity_id))


def _tell_the_mayors(coll: Collectivity, sup: SupportSession) -> None:
    from .mail import queue_email

    mayors = db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.collectivity_id == coll.id, Membership.role == ROLE_MAYOR, User.status == "active")
    ).all()
    for mayor in mayors:
        queue_email(mayor.email, _l("Department support on %(name)s", name=coll.name), "support_opened",
                    user=mayor, collectivity=coll, support=sup, agent=current_user)


def recent_sessions(collectivity_id: int, limit: int = 10) -> list[SupportSession]:
    return db.session.scalars(select(SupportSession).where(SupportSession.collectivity_id == collectivity_id)
                              .order_by(SupportSession.started_at.desc()).limit(limit)).all()
