"""The mairie's own administration: its members, their roles and grants, and its audit log."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from . import audit
from .accounts import AccountError, invite
from .extensions import db
from .forms import ConfirmForm, InviteForm, MemberForm
from .models import AuditEvent, Membership, User
from .permissions import (COLLECTIVITY_ROLES, INVITABLE_ROLES, ROLE_MAYOR, grantable_permissions, role_label)
from .registry import requires
from .tenancy import owned_or_404, owned_query

bp = Blueprint("mairie", __name__, url_prefix="/mairie")


@bp.before_request
@login_required
def _needs_collectivity():
    if g.collectivity is None or g.collectivity.is_operator:
        abort(404)


@bp.get("/membres")
@requires("members.read")
def members():
    rows = db.session.scalars(
        owned_query(Membership).join(Membership.user).order_by(Membership.role, User.full_name, User.email)
    ).all()
    return render_template("mairie/members.html", memberships=rows, remove_form=ConfirmForm())


@bp.route("/membres/inviter", methods=["GET", "POST"])
@requires("members.manage")
def invite_member():
    form = InviteForm()
    form.role.choices = [(r, role_label(r)) for r in INVITABLE_ROLES]
    if form.validate_on_submit():
        try:
            invite(form.email.data, form.full_name.data, g.collectivity, form.role.data,
                   current_user._get_current_object())
        except AccountError as exc:
            form.email.errors = list(form.email.errors) + [str(exc)]
        else:
            db.session.commit()
            flash(_("An invitation has been sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("mairie.members"))
    return render_template("mairie/invite.html", form=form)


def _mayors_left(excluding: Membership) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.collectivity_id == excluding.collectivity_id, Membership.role == ROLE_MAYOR,
            Membership.id != excluding.id,
        )
    ) or 0


@bp.route("/membres/<int:membership_id>", methods=["GET", "POST"])
@requires("members.manage")
def member(membership_id: int):
    membership = owned_or_404(Membership, membership_id)
    form = MemberForm(obj=membership)
    form.role.choices = [(r, role_label(r)) for r in COLLECTIVITY_ROLES]
    grantable = grantable_permissions()
    form.extra_permissions.choices = list(grantable.items())
    if form.validate_on_submit():
        new_role = form.role.data
        extra = sorted(p for p in form.extra_permissions.data if p in grantable)
        if membership.role == ROLE_MAYOR and new_role != ROLE_MAYOR and _mayors_left(membership) == 0:
            flash(_("The collectivity must keep at least one mayor account."), "error")
        elif new_role != membership.role or extra != sorted(membership.extra_permissions or []):
            old_role, old_extra = membership.role, list(membership.extra_permissions or [])
            membership.role, membership.extra_permissions = new_role, extra
            audit.record("member.updated", target=membership, email=membership.user.email,
                         old_role=old_role, new_role=new_role, old_permissions=old_extra, new_permissions=extra)
            db.session.commit()
            flash(_("The access of %(name)s is updated.", name=membership.user.display_name), "success")
            return redirect(url_for("mairie.members"))
        else:
            return redirect(url_for("mairie.members"))
    return render_template("mairie/member.html", form=form, membership=membership)


@bp.post("/membres/<int:membership_id>/retirer")
@requires("members.manage")
def remove_member(membership_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    membership = owned_or_404(Membership, membership_id)
    if membership.role == ROLE_MAYOR and _mayors_left(membership) == 0:
        flash(_("The collectivity must keep at least one mayor account."), "error")
        return redirect(url_for("mairie.members"))
    user = membership.user
    audit.record("member.removed", target=membership, email=user.email, role=membership.role)
    db.session.delete(membership)
    user.session_version += 1 if user.id != current_user.id else 0
    db.session.commit()
    flash(_("%(name)s no longer has access to %(coll)s.", name=user.display_name, coll=g.collectivity.name), "info")
    return redirect(url_for("mairie.members") if user.id != current_user.id else url_for("home.index"))


def parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def filter_audit(stmt, args):
    """Apply the audit-log filters of the query string (who, what, from, to)."""
    who = (args.get("qui") or "").strip().lower()
    what = (args.get("quoi") or "").strip()
    start, end = parse_date(args.get("du")), parse_date(args.get("au"))
    if who:
        stmt = stmt.where(AuditEvent.actor.contains(who))
    if what:
        stmt = stmt.where(AuditEvent.action.startswith(what))
    if start:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(start, dt.time.min))
    if end:
        stmt = stmt.where(AuditEvent.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


@bp.get("/journal")
@requires("audit.read")
def audit_log():
    stmt = filter_audit(owned_query(AuditEvent), request.args)
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("mairie/audit.html", page=page, args=request.args)
