"""The department team's pages of the desk: partners (organisations that publish) and their first accounts, the
forum's categories and the reported messages."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts import AccountError
from portal.extensions import db
from portal.models import KIND_PARTNER, Collectivity
from portal.registry import requires

from portal.forms import ConfirmForm

from . import PACKAGE
from .. import forum_operations, operations
from ..access import MODERATE, PARTNERS
from ..models import ForumCategory, ForumPost, ForumReport, ForumThread
from ..schemas import CategoryForm, PartnerForm

department_bp = Blueprint("desk_department", __name__, root_path=PACKAGE, template_folder="templates")


@department_bp.route("/partenaires", methods=["GET", "POST"])
@requires(PARTNERS)
def partners():
    form = PartnerForm()
    if form.validate_on_submit():
        try:
            partner = operations.create_partner(form.name.data, form.email.data, form.full_name.data or "",
                                                by=current_user, department=g.collectivity)
        except (operations.DeskError, AccountError) as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is added; its publisher received an activation link.", name=partner.name), "success")
            return redirect(url_for("desk_department.partners"))
    rows = db.session.scalars(select(Collectivity).where(Collectivity.kind == KIND_PARTNER)
                              .order_by(Collectivity.name)).all()
    return render_template("desk/department/partners.html", form=form, partners=rows), (400 if form.errors else 200)


@department_bp.route("/forum", methods=["GET", "POST"])
@requires(MODERATE)
def forum():
    """The forum's categories, and the messages reported to the moderators."""
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            forum_operations.create_category(form.name.data, form.description.data or "", by=current_user,
                                             department=g.collectivity)
        except operations.DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The category is added."), "success")
            return redirect(url_for("desk_department.forum"))
    categories = db.session.scalars(select(ForumCategory).order_by(ForumCategory.position)).all()
    # Through the thread (audience-scoped): a department team moderates its own collectivities' threads only.
    reports = [r for r, _thread in db.session.execute(
        select(ForumReport, ForumThread).join(ForumPost, ForumPost.id == ForumReport.post_id)
        .join(ForumThread, ForumThread.id == ForumPost.thread_id).where(ForumReport.resolved_at.is_(None))
        .order_by(ForumReport.created_at)).all()]
    return render_template("desk/department/forum.html", form=form, categories=categories, reports=reports,
                           confirm=ConfirmForm()), (400 if form.errors else 200)
