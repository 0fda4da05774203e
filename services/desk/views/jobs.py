"""The job offers (« bourse de l'emploi ») for members (``/s/desk/emplois``): the open offers addressed to the active
collectivity, one offer, publishing, editing and closing (the centre de gestion and the collectivities); and for
everyone (``/p/desk/emplois``): the open public offers, one offer, the Atom feed. The audience filter decides what each
viewer reads; the public pages read as nobody signed in (``audience_scope(PUBLIC_VIEWER)``) even for a member."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import audiences
from portal.audiences import PUBLIC_VIEWER, audience_scope
from portal.extensions import db
from portal.registry import requires

from .. import jobs, operations
from ..access import JOBS, READ, editable_offer_or_404, may_edit_offer, offer_or_404
from ..models_public import JobOffer
from ..schemas_public import CATEGORY_LABELS, CLOSED_LABELS, CloseOfferForm, JobOfferForm
from .pages import _subscribable_services, bp
from .public import public_bp

LABELS = dict(category_labels=CATEGORY_LABELS, closed_labels=CLOSED_LABELS, national_link=jobs.national_link)


@bp.get("/emplois")
@requires(READ)
def jobs_list():
    offers = jobs.open_offers()
    own = []
    if JOBS in g.permissions:  # the publisher's own offers, closed ones included
        own = db.session.scalars(select(JobOffer).where(JobOffer.publisher_id == g.collectivity.id)
                                 .order_by(JobOffer.published_at.desc()).limit(100)).all()
    return render_template("desk/jobs/list.html", offers=offers, own=own, may_publish=JOBS in g.permissions,
                           **LABELS)


@bp.get("/emplois/<int:offer_id>")
@requires(READ)
def job_offer(offer_id: int):
    offer = offer_or_404(offer_id)
    return render_template("desk/jobs/offer.html", offer=offer, may_edit=may_edit_offer(offer),
                           close_form=CloseOfferForm(), public=False, **LABELS)


def _form(offer: JobOffer | None) -> JobOfferForm:
    if offer is not None and request.method == "GET":
        form = JobOfferForm(obj=offer)
        form.description.data = offer.description_html
        form.time.data = "full" if offer.full_time else "part"
        form.show_audience(offer.audience)
    else:
        form = JobOfferForm()
        if request.method == "GET":
            form.audience.data = audiences.PUBLIC
            if g.collectivity.kind == "commune":
                form.commune_insee.data = g.collectivity.insee
                form.place.data = _("Mairie of %(name)s", name=g.collectivity.name)
    form.fill_choices(_subscribable_services())
    return form


def _edit_page(offer: JobOffer | None):
    form = _form(offer)
    refused = False
    if form.validate_on_submit():
        try:
            if offer is None:
                saved = jobs.publish_offer(publisher=g.collectivity, author=current_user,
                                           audience=form.audience_choice(), **form.fields())
            else:
                saved = jobs.edit_offer(offer, author=current_user, audience=form.audience_choice(), **form.fields())
        except operations.DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            refused = True
        else:
            db.session.commit()
            flash(_("The offer is published.") if offer is None else _("The offer is saved."), "success")
            return redirect(url_for("desk.job_offer", offer_id=saved.id))
    return render_template("desk/jobs/form.html", form=form, offer=offer), (400 if form.errors or refused else 200)


@bp.route("/emplois/nouvelle", methods=["GET", "POST"])
@requires(JOBS)
def job_publish():
    return _edit_page(None)


@bp.route("/emplois/<int:offer_id>/modifier", methods=["GET", "POST"])
@requires(READ)
def job_edit(offer_id: int):
    return _edit_page(editable_offer_or_404(offer_id))


@bp.post("/emplois/<int:offer_id>/cloturer")
@requires(READ)
def job_close(offer_id: int):
    offer = editable_offer_or_404(offer_id)
    form = CloseOfferForm()
    if not form.validate_on_submit():
        abort(400)
    jobs.close_offer(offer, author=current_user, reason=form.reason.data)
    db.session.commit()
    flash(_("The offer is closed."), "info")
    return redirect(url_for("desk.job_offer", offer_id=offer.id))


# Public pages --------------------------------------------------------------------------------------------------------


@public_bp.get("/emplois")
def public_jobs():
    with audience_scope(PUBLIC_VIEWER):
        offers = jobs.open_offers()
        return render_template("desk/jobs/public_list.html", offers=offers, **LABELS)


@public_bp.get("/emplois/<int:offer_id>")
def public_job_offer(offer_id: int):
    with audience_scope(PUBLIC_VIEWER):
        offer = offer_or_404(offer_id)
        # the page wears the identity of the job's commune's département, else its publisher's (portal/identity.py)
        g.public_collectivity = offer.commune or offer.publisher
        return render_template("desk/jobs/offer.html", offer=offer, may_edit=False, public=True, **LABELS)


@public_bp.get("/emplois.atom")
def public_jobs_feed():
    with audience_scope(PUBLIC_VIEWER):
        offers = jobs.open_offers(limit=100)
        body = render_template("desk/jobs/feed.atom.xml", offers=offers,
                               updated=max((o.updated_at for o in offers), default=None), **LABELS)
    return Response(body, mimetype="application/atom+xml")
