"""The department team's pages: collectivities, conventions, services, first accounts, suspensions, audit."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user, login_required
from sqlalchemy import and_, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import audit, tenancy
from .accounts import AccountError, invite
from .extensions import db
from .forms import ConfirmForm, ConventionForm, FirstAccountForm, ServiceToggleForm, SupportForm
from .mairie import filter_audit
from .models import (CONVENTION_STATUSES, KIND_COMMUNE, KIND_EPCI, AuditEvent, Collectivity, Convention,
                     Membership, ServiceActivation, User, fold)
from .permissions import ROLE_MAYOR
from .registry import registry, requires
from .support import recent_sessions

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Convention statuses (feminine in French, distinct from the account statuses of the same English words).
STATUS_LABELS = {
    "draft": lazy_pgettext("convention status", "Draft"),
    "active": lazy_pgettext("convention status", "Active"),
    "suspended": lazy_pgettext("convention status", "Suspended"),
    "ended": lazy_pgettext("convention status", "Ended"),
}


@bp.before_request
@login_required
def _department_only():
    if g.get("support") is not None:  # the department's pages wait until the support session is closed
        flash(_("You are in support mode on %(name)s: leave it to go back to the department's pages.",
                name=g.support.collectivity.name), "warning")
        return redirect(url_for("home.index"))
    if "collectivities.read" not in g.permissions:
        abort(403)


def _collectivity_or_404(collectivity_id: int) -> Collectivity:
    coll = db.session.get(Collectivity, collectivity_id)  # the administered ones only (portal/tenancy.py)
    if coll is None or coll.is_operator:
        abort(404)
    return coll


@bp.get("/collectivites")
def collectivities():
    q = (request.args.get("q") or "").strip()
    kind = request.args.get("type") or ""
    epci_id = request.args.get("epci") or ""
    stmt = select(Collectivity).where(Collectivity.kind.in_((KIND_COMMUNE, KIND_EPCI)))
    if kind in (KIND_COMMUNE, KIND_EPCI):
        stmt = stmt.where(Collectivity.kind == kind)
    if q:
        words = fold(q).split()
        by_name = and_(*[Collectivity.search_name.contains(w) for w in words]) if words else false()
        stmt = stmt.where(or_(by_name, Collectivity.insee == q, Collectivity.siren == q,
                              Collectivity.postal_codes.contains(q)))
    if epci_id.isdigit():
        epci = db.session.get(Collectivity, int(epci_id))
        if epci is not None:
            stmt = stmt.where(Collectivity.id.in_([m.id for m in epci.members]))
    stmt = stmt.order_by(Collectivity.kind.desc(), Collectivity.search_name).options(
        selectinload(Collectivity.conventions), selectinload(Collectivity.epcis), selectinload(Collectivity.members))
    page = db.paginate(stmt, per_page=50, error_out=False)
    epcis = db.session.scalars(select(Collectivity).where(Collectivity.kind == KIND_EPCI)
                               .order_by(Collectivity.name)).all()
    return render_template("admin/collectivities.html", page=page, q=q, kind=kind, epci_id=epci_id, epcis=epcis,
                           status_labels=STATUS_LABELS)


@bp.get("/collectivites/<int:collectivity_id>")
def collectivity(collectivity_id: int):
    coll = _collectivity_or_404(collectivity_id)
    memberships = db.session.scalars(
        select(Membership).where(Membership.collectivity_id == coll.id).join(Membership.user).order_by(User.email)
    ).all()
    activations = {a.service_slug: a for a in coll.activations}
    return render_template(
        "admin/collectivity.html", coll=coll, memberships=memberships, services=registry.all(),
        activations=activations, convention=coll.convention_in_force(), status_labels=STATUS_LABELS,
        account_form=FirstAccountForm(), confirm_form=ConfirmForm(), toggle_form=ServiceToggleForm(),
        mayors=[m.user.email for m in memberships if m.role == ROLE_MAYOR],
        support_form=SupportForm(), support_sessions=recent_sessions(coll.id),
    )


def _convention_form(conv: Convention | None) -> ConventionForm:
    form = ConventionForm(obj=conv)
    form.status.choices = [(s, str(STATUS_LABELS[s])) for s in CONVENTION_STATUSES]
    form.services.choices = [(s.slug, str(s.name)) for s in registry.all()]
    return form


@bp.route("/collectivites/<int:collectivity_id>/conventions/nouvelle", methods=["GET", "POST"])
@bp.route("/collectivites/<int:collectivity_id>/conventions/<int:convention_id>", methods=["GET", "POST"])
@requires("collectivities.admin")
def convention(collectivity_id: int, convention_id: int | None = None):
    coll = _collectivity_or_404(collectivity_id)
    conv = None
    if convention_id is not None:
        conv = db.session.get(Convention, convention_id)
        if conv is None or conv.collectivity_id != coll.id:
            abort(404)
    form = _convention_form(conv)
    if form.validate_on_submit():
        creating = conv is None
        if creating:
            conv = Convention(collectivity=coll)
            db.session.add(conv)
        before = {"status": conv.status, "services": list(conv.services or [])}
        conv.number = form.number.data.strip()
        conv.signed_on, conv.starts_on, conv.ends_on = form.signed_on.data, form.starts_on.data, form.ends_on.data
        conv.status = form.status.data
        conv.services = [s for s in form.services.data if registry.get(s)]
        conv.notes = form.notes.data or ""
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            form = _convention_form(None)
            form.process(request.form)
            form.number.errors = [_("Another convention already has this number.")]
            return render_template("admin/convention.html", form=form, coll=coll, conv=None)
        audit.record("convention.created" if creating else "convention.updated", target=conv, collectivity=coll,
                     number=conv.number, status=conv.status, services=conv.services,
                     before=None if creating else before)
        db.session.commit()
        flash(_("The convention %(number)s is saved.", number=conv.number), "success")
        return redirect(url_for("admin.collectivity", collectivity_id=coll.id))
    return render_template("admin/convention.html", form=form, coll=coll, conv=conv)


@bp.post("/collectivites/<int:collectivity_id>/services")
@requires("collectivities.admin")
def toggle_service(collectivity_id: int):
    coll = _collectivity_or_404(collectivity_id)
    form = ServiceToggleForm()
    if not form.validate_on_submit() or registry.get(form.service.data) is None:
        abort(400)
    slug = form.service.data
    activation = next((a for a in coll.activations if a.service_slug == slug), None)
    if activation is None:
        activation = ServiceActivation(collectivity=coll, service_slug=slug)
        db.session.add(activation)
    activation.enabled = bool(form.enabled.data)
    activation.changed_by_id = current_user.id
    audit.record("service.enabled" if activation.enabled else "service.disabled", target_type="Service",
                 target_id=slug, collectivity=coll, service=slug)
    db.session.commit()
    name = registry.get(slug).name
    if activation.enabled:
        conv = coll.convention_in_force()
        if conv is None or slug not in conv.services:
            flash(_("%(service)s is enabled, but no convention in force covers it: the collectivity will see it "
                    "only once its convention includes it.", service=name), "warning")
        else:
            flash(_("%(service)s is enabled for %(name)s.", service=name, name=coll.name), "success")
    else:
        flash(_("%(service)s is disabled for %(name)s.", service=name, name=coll.name), "info")
    return redirect(url_for("admin.collectivity", collectivity_id=coll.id))


def _mayors(coll: Collectivity) -> list[Membership]:
    """The collectivity's accounts with the mayor's role (the president's, for an EPCI)."""
    return list(db.session.scalars(select(Membership).where(Membership.collectivity_id == coll.id,
                                                           Membership.role == ROLE_MAYOR).order_by(Membership.id)))


@bp.post("/collectivites/<int:collectivity_id>/premier-compte")
@requires("collectivities.admin")
def first_account(collectivity_id: int):
    coll = _collectivity_or_404(collectivity_id)
    form = FirstAccountForm()
    if form.validate_on_submit():
        mayors = [m.user.email for m in _mayors(coll)]
        try:
            invite(form.email.data, form.full_name.data, coll, ROLE_MAYOR, current_user._get_current_object(),
                   purpose="activation", other_mayors=mayors)
        except AccountError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The account of %(email)s is created; an activation link valid for 48 hours was sent.",
                    email=form.email.data), "success")
            if mayors:
                flash(_("%(name)s already had a mayor's account (%(emails)s): it now has %(count)s. Suspend the "
                        "account that is no longer used.", name=coll.name, emails=", ".join(mayors),
                        count=len(mayors) + 1), "warning")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for("admin.collectivity", collectivity_id=coll.id))


@bp.post("/comptes/<int:user_id>/<action>")
@requires("collectivities.admin")
def account_status(user_id: int, action: str):
    if action not in ("suspendre", "reactiver") or not ConfirmForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None or not tenancy.administers_user(user):
        abort(404)
    if user.id == current_user.id:
        flash(_("You cannot suspend your own account."), "error")
    elif action == "suspendre" and user.status != "suspended":
        user.status = "suspended"
        user.session_version += 1  # signs the person out everywhere
        audit.record("account.suspended", target=user, email=user.email)
        db.session.commit()
        flash(_("The account of %(email)s is suspended.", email=user.email), "info")
    elif action == "reactiver" and user.status == "suspended":
        user.status = "active" if user.password_hash else "invited"
        audit.record("account.reactivated", target=user, email=user.email)
        db.session.commit()
        flash(_("The account of %(email)s is reactivated.", email=user.email), "success")
    back = request.form.get("next") or ""
    return redirect(back if back.startswith("/admin/") else url_for("admin.collectivities"))


@bp.get("/journal")
@requires("audit.read.all")
def audit_log():
    stmt = filter_audit(select(AuditEvent), request.args).where(tenancy.administered_audit())
    coll_q = (request.args.get("collectivite") or "").strip()
    if coll_q:
        ids = select(Collectivity.id).where(or_(Collectivity.search_name.contains(fold(coll_q)),
                                                Collectivity.insee == coll_q, Collectivity.siren == coll_q))
        stmt = stmt.where(AuditEvent.collectivity_id.in_(ids))
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render_template("admin/audit.html", page=page, args=request.args)
