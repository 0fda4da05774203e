"""The agenda for members (``/s/desk/agenda``): upcoming workshops and meetings addressed to the active collectivity,
registering and cancelling, publishing (the department and partners), the .ics of one event and of the whole agenda;
and for everyone (``/p/desk/agenda``): the public events and their .ics (read as nobody signed in)."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audiences
from portal.audiences import PUBLIC_VIEWER, audience_scope
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.registry import requires
from portal.urls import absolute_url

from .. import agenda, operations
from ..access import EVENTS, READ, editable_event_or_404, event_or_404, may_edit_event
from ..models_public import Event
from ..schemas_public import EVENT_KIND_LABELS, EventForm
from .pages import _subscribable_services, bp
from .public import public_bp


def _ics_response(body: bytes, filename: str) -> Response:
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/agenda")
@requires(READ)
def agenda_list():
    events = agenda.upcoming()
    mine = {r.event_id for e in events if (r := agenda.registration_of(e, current_user)) and r.cancelled_at is None}
    token = agenda.calendar_token(current_user, g.collectivity)
    feed_url = absolute_url("desk_public.token_agenda_ics", token=token.token) if token else None
    return render_template("desk/agenda/list.html", events=events, mine=mine, kinds=EVENT_KIND_LABELS,
                           may_publish=EVENTS in g.permissions, public=False, feed_url=feed_url)


@bp.get("/agenda/<int:event_id>")
@requires(READ)
def event_page(event_id: int):
    event = event_or_404(event_id)
    reg = agenda.registration_of(event, current_user)
    editable = may_edit_event(event)
    return render_template("desk/agenda/event.html", event=event, kinds=EVENT_KIND_LABELS, public=False,
                           registered=reg is not None and reg.cancelled_at is None, taken=agenda.seats_taken(event),
                           attendees=agenda.registrations(event) if editable else [], may_edit=editable,
                           form=ConfirmForm())


@bp.post("/agenda/<int:event_id>/inscription")
@requires(READ)
def event_register(event_id: int):
    event = event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        agenda.register(event, user=current_user, collectivity=g.collectivity)
    except operations.DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("You are registered. A reminder will come by e-mail the day before."), "success")
    return redirect(url_for("desk.event_page", event_id=event.id))


@bp.post("/agenda/<int:event_id>/desinscription")
@requires(READ)
def event_unregister(event_id: int):
    event = event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    agenda.unregister(event, user=current_user, collectivity=g.collectivity)
    db.session.commit()
    flash(_("Your registration is cancelled."), "info")
    return redirect(url_for("desk.event_page", event_id=event.id))


def _form(event: Event | None) -> EventForm:
    if event is not None and request.method == "GET":
        form = EventForm(obj=event)
        form.description.data = event.description_html
        form.show_audience(event.audience)
    else:
        form = EventForm()
        if request.method == "GET":
            form.audience.data = audiences.ALL
    form.fill_choices(_subscribable_services())
    return form


def _edit_page(event: Event | None):
    form = _form(event)
    refused = False
    if form.validate_on_submit():
        try:
            if event is None:
                saved = agenda.publish_event(publisher=g.collectivity, author=current_user,
                                             audience=form.audience_choice(), **form.fields())
            else:
                saved = agenda.edit_event(event, author=current_user, audience=form.audience_choice(), **form.fields())
        except operations.DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            refused = True
        else:
            db.session.commit()
            flash(_("The event is published.") if event is None else _("The event is saved."), "success")
            return redirect(url_for("desk.event_page", event_id=saved.id))
    return render_template("desk/agenda/form.html", form=form, event=event), (400 if form.errors or refused else 200)


@bp.route("/agenda/nouveau", methods=["GET", "POST"])
@requires(EVENTS)
def event_publish():
    return _edit_page(None)


@bp.route("/agenda/<int:event_id>/modifier", methods=["GET", "POST"])
@requires(READ)
def event_edit(event_id: int):
    return _edit_page(editable_event_or_404(event_id))


@bp.post("/agenda/<int:event_id>/annuler")
@requires(READ)
def event_cancel(event_id: int):
    event = editable_event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    told = agenda.cancel_event(event, author=current_user)
    db.session.commit()
    flash(_("The event is cancelled; %(n)d registered people are told by e-mail.", n=told), "info")
    return redirect(url_for("desk.event_page", event_id=event.id))


@bp.get("/agenda/<int:event_id>.ics")
@requires(READ)
def event_ics(event_id: int):
    event = event_or_404(event_id)
    return _ics_response(agenda.ics([event], name=event.title, public=False), f"evenement-{event.id}.ics")


@bp.get("/agenda.ics")
@requires(READ)
def agenda_ics():
    return _ics_response(agenda.ics(agenda.upcoming(), name=_("Agenda"), public=False), "agenda.ics")


@bp.post("/agenda/abonnement")
@requires(READ)
def calendar_token_new():
    """A new personal address of the feed (the former one stops working)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    agenda.new_calendar_token(current_user, g.collectivity)
    db.session.commit()
    flash(_("Your calendar subscription address is ready; any former address no longer works."), "info")
    return redirect(url_for("desk.agenda_list") + "#abonnement")


@bp.post("/agenda/abonnement/supprimer")
@requires(READ)
def calendar_token_revoke():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if agenda.revoke_calendar_token(current_user, g.collectivity):
        db.session.commit()
        flash(_("The calendar subscription address is deleted: calendars using it no longer receive the agenda."),
              "info")
    return redirect(url_for("desk.agenda_list") + "#abonnement")


# Public pages --------------------------------------------------------------------------------------------------------


@public_bp.get("/agenda")
def public_agenda():
    with audience_scope(PUBLIC_VIEWER):
        events = agenda.upcoming()
        return render_template("desk/agenda/list.html", events=events, mine=set(), kinds=EVENT_KIND_LABELS,
                               may_publish=False, public=True)


@public_bp.get("/agenda/<int:event_id>")
def public_event(event_id: int):
    with audience_scope(PUBLIC_VIEWER):
        event = event_or_404(event_id)
        return render_template("desk/agenda/event.html", event=event, kinds=EVENT_KIND_LABELS, public=True,
                               registered=False, taken=agenda.seats_taken(event), attendees=[], may_edit=False,
                               form=None)


@public_bp.get("/agenda/<int:event_id>.ics")
def public_event_ics(event_id: int):
    with audience_scope(PUBLIC_VIEWER):
        event = event_or_404(event_id)
        return _ics_response(agenda.ics([event], name=event.title, public=True), f"evenement-{event.id}.ics")


@public_bp.get("/agenda.ics")
def public_agenda_ics():
    with audience_scope(PUBLIC_VIEWER):
        return _ics_response(agenda.ics(agenda.upcoming(), name=_("Agenda"), public=True), "agenda.ics")


@public_bp.get("/agenda/abonnement/<token>.ics")
def token_agenda_ics(token: str):
    """The agenda of a person's collectivity for a calendar application (no session): the secret address shown on
    the agenda page. An unknown or revoked address is a 404."""
    found = agenda.feed_of_token(token)
    if found is None:
        abort(404)
    collectivity, events = found
    body = agenda.ics(events, name=_("Agenda – %(name)s", name=collectivity.name), public=False)
    db.session.commit()  # the address's last use
    response = _ics_response(body, "agenda.ics")
    response.headers["Cache-Control"] = "private, no-store"
    return response
