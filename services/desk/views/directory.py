"""The directory (« annuaire »): for members, every commune's and EPCI's entry as the mairie declares it and the
mairie's own entry to edit (``/s/desk/annuaire``); for residents, the published part of it as the commune's public
page, with the residents' pages of the services the commune uses and its job offers (``/p/desk/annuaire``)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.audiences import PUBLIC_VIEWER, audience_scope
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.lookups import get_or_404
from portal.models import KIND_COMMUNE, KIND_EPCI, Collectivity
from portal.registry import requires

from .. import directory, jobs, operations
from ..access import DIRECTORY, READ
from ..models_public import DirectoryPerson
from ..schemas_public import CATEGORY_LABELS, ROLE_LABELS, DirectoryForm, PersonForm
from .pages import bp
from .public import public_bp


def _collectivity_or_404(collectivity_id: int) -> Collectivity:
    """A commune or an EPCI (the directory's entries are read by every member: reference data, not a territory's)."""
    coll = db.session.get(Collectivity, collectivity_id)
    if coll is None or coll.kind not in (KIND_COMMUNE, KIND_EPCI):
        abort(404)
    return coll


@bp.get("/annuaire")
@requires(READ)
def directory_index():
    query = (request.args.get("q") or "").strip()[:100]
    return render_template("desk/directory/index.html", query=query, results=directory.search(query),
                           may_edit=DIRECTORY in g.permissions, public=False)


@bp.get("/annuaire/<int:collectivity_id>")
@requires(READ)
def directory_entry(collectivity_id: int):
    coll = _collectivity_or_404(collectivity_id)
    entry = directory.entry_of(coll)
    return render_template("desk/directory/entry.html", coll=coll, entry=entry,
                           people=directory.people_of(coll), public=False, role_labels=ROLE_LABELS,
                           map=directory.map_of(coll, entry, public=False), blocks=[], offers=[],
                           own=g.collectivity.id == coll.id and DIRECTORY in g.permissions)


@bp.route("/annuaire/ma-fiche", methods=["GET", "POST"])
@requires(DIRECTORY)
def directory_edit():
    coll = g.collectivity
    entry = directory.entry_of(coll)
    form = DirectoryForm(obj=entry) if request.method == "GET" and entry is not None else DirectoryForm()
    if request.method == "GET" and entry is None:
        form.publish_address.data = form.publish_hours.data = form.publish_phone.data = True
        form.publish_website.data = True
        form.email.data = coll.email or ""
    if form.validate_on_submit():
        try:
            directory.save_entry(coll, by=current_user, **{name: form[name].data for name in directory.ENTRY_FIELDS})
        except operations.DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("The directory entry is saved."), "success")
            return redirect(url_for("desk.directory_edit"))
    return render_template("desk/directory/edit.html", coll=coll, form=form, person_form=PersonForm(),
                           people=directory.people_of(coll), role_labels=ROLE_LABELS, confirm=ConfirmForm()), \
        (400 if form.errors else 200)


@bp.post("/annuaire/ma-fiche/elus")
@requires(DIRECTORY)
def directory_add_person():
    form = PersonForm()
    if form.validate_on_submit():
        try:
            directory.add_person(g.collectivity, by=current_user, name=form.name.data, role=form.role.data,
                                 delegation=form.delegation.data or "", published=form.published.data)
        except operations.DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is added.", name=form.name.data.strip()), "success")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for("desk.directory_edit"))


@bp.post("/annuaire/ma-fiche/elus/<int:person_id>/retirer")
@requires(DIRECTORY)
def directory_remove_person(person_id: int):
    person = get_or_404(DirectoryPerson, person_id)  # the active collectivity's own
    if not ConfirmForm().validate_on_submit():
        abort(400)
    directory.remove_person(person, by=current_user, collectivity=g.collectivity)
    db.session.commit()
    flash(_("%(name)s is removed from the directory.", name=person.name), "info")
    return redirect(url_for("desk.directory_edit"))


@bp.post("/annuaire/ma-fiche/elus/<int:person_id>/publication")
@requires(DIRECTORY)
def directory_publish_person(person_id: int):
    person = get_or_404(DirectoryPerson, person_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    directory.set_published(person, request.form.get("published") == "1", by=current_user,
                            collectivity=g.collectivity)
    db.session.commit()
    return redirect(url_for("desk.directory_edit"))


# Public pages --------------------------------------------------------------------------------------------------------


@public_bp.get("/annuaire")
def public_directory():
    query = (request.args.get("q") or "").strip()[:100]
    return render_template("desk/directory/index.html", query=query, results=directory.search(query),
                           may_edit=False, public=True)


@public_bp.get("/annuaire/<code>")
def public_entry(code: str):
    """The commune's (or EPCI's) page for residents: only what the mairie published, the services it offers them,
    its open public job offers."""
    coll = directory.by_code(code)
    if coll is None:
        abort(404)
    g.public_collectivity = coll  # the page wears the identity of its commune's département (portal/identity.py)
    entry = directory.entry_of(coll)
    with audience_scope(PUBLIC_VIEWER):
        offers = jobs.offers_of(coll)
    return render_template("desk/directory/entry.html", coll=coll, entry=entry,
                           people=directory.people_of(coll, published_only=True), public=True,
                           role_labels=ROLE_LABELS, map=directory.map_of(coll, entry, public=True),
                           blocks=directory.public_blocks(coll), offers=offers, category_labels=CATEGORY_LABELS,
                           own=False)
