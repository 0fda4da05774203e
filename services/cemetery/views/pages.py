"""Pages of the mairie's staff, at /s/cemetery/ behind the gate (signed in, commune subscribed, permission)."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.filestore import FileStore, StorageError
from portal.lookups import active_commune, active_insee
from portal.maps import basemap_origin, map_config
from portal.registry import requires
from portal.responses import csv_response, pdf_response
from portal.settings import setting
from portal.uploads import UploadRejected, check_upload

from .. import documents, importer, operations, queries, rules, schemas
from .. import registers as register_jobs
from ..access import alley_or_404, cemetery_or_404, concession_or_404, deceased_or_404, person_or_404, plot_or_404, \
    register_job_or_404, reprise_or_404, zone_or_404
from ..models import Alley, Cemetery, Concession, Deceased, Operation, Plot, Preference, RegisterJob, Reprise, \
    Tariff, Zone
from ..operations import Refused

log = logging.getLogger(__name__)
bp = Blueprint("cemetery", __name__, template_folder="../templates", static_folder="../static")
IMPORTS = FileStore("CEMETERY_IMPORT_DIR", "cemetery/imports", "cemetery imports")
PLANS = FileStore("CEMETERY_PLAN_DIR", "cemetery/plans", "cemetery scanned plans")


def concession_kind(c) -> str:
    label = str(schemas.CONCESSION_KIND_LABELS.get(c.kind, c.kind))
    if c.kind == "temporary" and c.duration_years:
        return _("%(kind)s (%(n)s years)", kind=label, n=c.duration_years)
    return label


LABELS = {"plot_kinds": schemas.PLOT_KIND_LABELS, "concession_kinds": schemas.CONCESSION_KIND_LABELS,
          "scopes": schemas.SCOPE_LABELS, "statuses": schemas.STATUS_LABELS, "states": schemas.STATE_LABELS,
          "colours": schemas.STATE_COLOURS, "bodies": schemas.BODY_LABELS, "operations": schemas.OPERATION_LABELS,
          "roles": schemas.ROLE_LABELS, "reprises": schemas.REPRISE_LABELS,
          "reprise_statuses": schemas.REPRISE_STATUS_LABELS, "steps": schemas.STEP_LABELS}


def labels() -> dict:
    from ..texts import ROLES_LOWER, STEP_TEXTS

    return {**LABELS, "roles_lower": ROLES_LOWER, "step_texts": STEP_TEXTS}


@bp.context_processor
def _helpers():
    return {"labels": labels(), "concession_kind": concession_kind, "places": rules.places}


def _flash_refused(exc) -> None:
    flash(str(exc), "error")


def _back(default: str):
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/s/cemetery/")
                    else default)


def _user_name() -> str:
    return getattr(current_user, "full_name", "") or getattr(current_user, "email", "")


# Plan --------------------------------------------------------------------------------------------------------------

def _plan_config(cemetery_id=None, draw=False, focus=None):
    bounds = queries.bounds(cemetery_id)
    cadastre = setting("CEMETERY_CADASTRE_WMTS") or ""
    origin = basemap_origin(current_app.config)
    if not origin or not cadastre.startswith(origin + "/"):
        cadastre = ""  # the CSP allows images from the base layer's host only
    data = {"url": url_for("cemetery.plan_compact", cemetery_id=cemetery_id) if cemetery_id
            else url_for("cemetery.plan_compact"),
            "sheet": url_for("cemetery.plot", plot_id=0), "bubble": url_for("cemetery.plot_bubble", plot_id=0),
            "cadastre": cadastre, "draw": draw,
            "labels": {"open": _("Open the sheet"), "places": _("places"), "drawn": _("Shape drawn."),
                       "cadastre": _("Cadastre"), "legend": {k: str(v) for k, v in schemas.STATE_LABELS.items()},
                       "draw": {"polygon": _("Draw a polygon"), "rectangle": _("Draw a rectangle"),
                                "finish": _("Finish"), "cancel": _("Cancel"), "undo": _("Delete the last point"),
                                "start": _("Click to start the shape."),
                                "cont": _("Click to go on drawing the shape."),
                                "end": _("Click the first point to close the shape."),
                                "edit": _("Change the shape"), "remove": _("Delete the shape"),
                                "save": _("Save"), "clear": _("Delete all")},
                       "colours": schemas.STATE_COLOURS},
            "focus": focus}
    if bounds:
        return map_config(bounds=bounds, max_zoom=22, data=data)
    boundary = active_commune().boundary_geojson  # nothing drawn yet: the commune, to find the cemetery in it
    if boundary:
        import shapely.geometry

        shape = json.loads(boundary)
        minx, miny, maxx, maxy = shapely.geometry.shape(shape).bounds
        return map_config(bounds=[[miny, minx], [maxy, maxx]], max_zoom=22, data=data,
                          outlines=[{"geojson": shape, "style": {"color": "#000091", "weight": 2, "fill": False}}])
    return map_config(max_zoom=22, data=data)


@bp.get("/")
def index():
    cemeteries = db.session.scalars(select(Cemetery).options(joinedload(Cemetery.zones).joinedload(Zone.alleys))
                                    .order_by(Cemetery.name)).unique().all()
    counts = dict(db.session.execute(select(Plot.kind, func.count()).group_by(Plot.kind)).all())
    per_alley = dict(db.session.execute(select(Plot.alley_id, func.count()).group_by(Plot.alley_id)).all())
    return render_template("cemetery/index.html", cemeteries=cemeteries, counts=counts, per_alley=per_alley,
                           config=_plan_config(draw="cemetery.write" in _perms()), q=request.args.get("q", ""),
                           hits=None)


def _perms():
    from flask import g

    return g.get("permissions", set())


@bp.get("/plan.geojson")
def plan_geojson():
    cemetery_id = request.args.get("cemetery_id", type=int)
    return current_app.response_class(queries.plan_json(cemetery_id),
                                      mimetype="application/geo+json", headers={"Cache-Control": "private, no-cache"})


def _compact_response(plan: queries.CompactPlan):
    """The compact plan with an ``ETag`` (its digest: a browser holding it gets a 304 and no body) and gzip when the
    browser accepts it (the plan of 10 000 emplacements is mostly small integers: it shrinks about fourfold). Both
    are kept with the body (queries.compact_plan): an unchanged plan costs a select of its token."""
    headers = {"Cache-Control": "private, no-cache", "ETag": f'"{plan.etag}"', "Vary": "Accept-Encoding, Cookie"}
    if request.if_none_match.contains(plan.etag):
        return current_app.response_class(status=304, headers=headers)
    data = plan.data
    if "gzip" in request.accept_encodings and len(data) > 200:
        data = plan.gzipped
        headers["Content-Encoding"] = "gzip"
    return current_app.response_class(data, mimetype="application/json", headers=headers)


@bp.get("/plan.json")
def plan_compact():
    """The plan drawn by the page (queries.plan_compact): geographic, or on the scanned plan (``image=1``)."""
    cemetery_id = request.args.get("cemetery_id", type=int)
    image = request.args.get("image") == "1"
    if image:
        cemetery_or_404(cemetery_id or 0)
    return _compact_response(queries.compact_plan(cemetery_id, image=image))


@bp.get("/emplacements/<int:plot_id>/bulle.json")
def plot_bubble(plot_id: int):
    """What the plan's bubble shows when an emplacement is clicked: its label, type, state and places."""
    plot = plot_or_404(plot_id)
    state = queries.state_of(plot)
    return {"id": plot.id, "n": f"{plot.alley.name} · {plot.number}", "label": plot.label,
            "k": str(schemas.PLOT_KIND_LABELS.get(plot.kind, plot.kind)), "s": state,
            "state": str(schemas.STATE_LABELS[state]),
            "p": f"{rules.places(operations.used_tenths(plot))}/{rules.places(plot.capacity_tenths)}",
            "url": url_for("cemetery.plot", plot_id=plot.id)}


@bp.get("/recherche")
def search():
    q = " ".join(request.args.get("q", "").split())[:80]
    found = queries.search(q, request.args.get("page", 1, type=int)) if q else None
    return render_template("cemetery/search.html", q=q, found=found, page_size=queries.PAGE_SIZE)


def _geometry():
    raw = request.form.get("geometry", "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise Refused(_("The shape drawn is not a polygon of the map.")) from None


@bp.post("/cimetieres")
@requires("cemetery.write")
def create_cemetery():
    try:
        operations.create_cemetery(request.form.get("name", ""), active_insee(), request.form.get("address", ""),
                                   _geometry())
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Cemetery added."), "success")
    return redirect(url_for("cemetery.index"))


@bp.post("/cimetieres/<int:cemetery_id>/zones")
@requires("cemetery.write")
def create_zone(cemetery_id: int):
    cemetery = cemetery_or_404(cemetery_id)
    try:
        operations.create_zone(cemetery, request.form.get("name", ""), _geometry())
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Zone added."), "success")
    return redirect(url_for("cemetery.index"))


@bp.post("/allees")
@requires("cemetery.write")
def create_alley():
    zone = zone_or_404(request.form.get("zone_id", type=int) or 0)
    try:
        operations.create_alley(zone, request.form.get("name", ""), _geometry())
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Allée added."), "success")
    return redirect(url_for("cemetery.index"))


@bp.post("/emplacements")
@requires("cemetery.write")
def create_plot():
    alley = alley_or_404(request.form.get("alley_id", type=int) or 0)
    errors: list = []
    capacity = schemas.parse_places(request.form.get("places"), _("places"), errors)
    try:
        if errors:
            raise Refused(str(errors[0]))
        plot = operations.create_plot(alley, request.form.get("number", ""), request.form.get("kind", "concession"),
                                      capacity, _geometry(), monument=request.form.get("monument", "").strip()[:300])
    except Refused as exc:
        _flash_refused(exc)
        return redirect(url_for("cemetery.index"))
    db.session.commit()
    flash(_("Emplacement added."), "success")
    return redirect(url_for("cemetery.plot", plot_id=plot.id))


@bp.post("/emplacements/<int:plot_id>/forme")
@requires("cemetery.write")
def plot_shape(plot_id: int):
    plot = plot_or_404(plot_id)
    try:
        operations.set_shape(plot, _geometry())
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Shape saved."), "success")
    return redirect(url_for("cemetery.plot", plot_id=plot.id))


# Scanned plan ------------------------------------------------------------------------------------------------------

PLACEABLE = {"cemetery": Cemetery, "zone": Zone, "alley": Alley, "plot": Plot}


def _in_cemetery(cemetery: Cemetery, kind: str, obj) -> bool:
    if kind == "cemetery":
        return obj.id == cemetery.id
    if kind == "zone":
        return obj.cemetery_id == cemetery.id
    if kind == "alley":
        return obj.zone.cemetery_id == cemetery.id
    return obj.alley.zone.cemetery_id == cemetery.id


@bp.get("/cimetieres/<int:cemetery_id>/plan-scanne")
def scan_page(cemetery_id: int):
    cemetery = cemetery_or_404(cemetery_id)
    zones = db.session.scalars(select(Zone).options(joinedload(Zone.alleys)).where(Zone.cemetery_id == cemetery.id)
                               .order_by(Zone.name)).unique().all()
    plots = db.session.execute(select(Plot.id, Zone.name, Alley.name, Plot.number, Plot.image_geometry.is_not(None))
                               .join(Alley, Plot.alley_id == Alley.id).join(Zone, Alley.zone_id == Zone.id)
                               .where(Zone.cemetery_id == cemetery.id)
                               .order_by(Zone.name, Alley.name, Plot.number).limit(20000)).all()
    config = None
    if cemetery.plan_image_key:
        config = {"url": url_for("cemetery.plan_compact", cemetery_id=cemetery.id, image=1),
                  "image": url_for("cemetery.scan_image", cemetery_id=cemetery.id, v=cemetery.plan_image_sha256[:12]),
                  "width": cemetery.plan_image_width, "height": cemetery.plan_image_height,
                  "sheet": url_for("cemetery.plot", plot_id=0), "bubble": url_for("cemetery.plot_bubble", plot_id=0),
                  "draw": "cemetery.write" in _perms(), "focus": request.args.get("emplacement", type=int),
                  "labels": _plan_config()["data"]["labels"]}
    return render_template("cemetery/scan.html", cemetery=cemetery, zones=zones, plots=plots, config=config,
                           max_mb=setting("CEMETERY_PLAN_MAX_MB"))


@bp.post("/cimetieres/<int:cemetery_id>/plan-scanne/image")
@requires("cemetery.write")
def scan_upload(cemetery_id: int):
    cemetery = cemetery_or_404(cemetery_id)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    try:
        info = check_upload(data, upload.filename if upload else "", allowed={"png", "jpeg"},
                            max_bytes=int(setting("CEMETERY_PLAN_MAX_MB")) * 2 ** 20)
        width, height = _image_size(data)
    except UploadRejected as exc:
        log.info("cemetery %s: scanned plan refused: %s", cemetery.id, exc.reason_en)
        flash(str(exc.message_fr), "error")
        return redirect(url_for("cemetery.scan_page", cemetery_id=cemetery.id))
    stored = PLANS.save_for(db.session, f"{active_insee()}/{cemetery.id}", data)
    old = operations.set_plan_image(cemetery, stored, info.kind, width, height)
    PLANS.discard(db.session, old)
    db.session.commit()
    flash(_("Scanned plan saved (%(w)s × %(h)s pixels).", w=width, h=height), "success")
    return redirect(url_for("cemetery.scan_page", cemetery_id=cemetery.id))


def _image_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds; check_upload already verified it
        raise UploadRejected(_("The image is damaged and cannot be read."), f"size not read: {exc}") from exc
    if width < 50 or height < 50:
        raise UploadRejected(_("The image is too small to be a plan (%(w)s × %(h)s pixels).", w=width, h=height),
                             f"image of {width}x{height} pixels")
    return width, height


@bp.get("/cimetieres/<int:cemetery_id>/plan-scanne/image")
def scan_image(cemetery_id: int):
    cemetery = cemetery_or_404(cemetery_id)
    if not cemetery.plan_image_key:
        abort(404)
    etag = cemetery.plan_image_sha256[:32]
    headers = {"Cache-Control": "private, max-age=86400", "ETag": f'"{etag}"'}
    if request.if_none_match.contains(etag):
        return current_app.response_class(status=304, headers=headers)
    try:
        data = PLANS.read(cemetery.plan_image_key, cemetery.plan_image_sha256, cemetery.plan_image_size)
    except StorageError as exc:
        log.warning("cemetery %s: scanned plan unreadable: %s", cemetery.id, exc)
        abort(404)
    return current_app.response_class(data, mimetype="image/png" if cemetery.plan_image_kind == "png"
                                      else "image/jpeg", headers=headers)


@bp.post("/cimetieres/<int:cemetery_id>/plan-scanne/placer")
@requires("cemetery.write")
def scan_place(cemetery_id: int):
    cemetery = cemetery_or_404(cemetery_id)
    kind, _sep, raw_id = request.form.get("target", "").partition(":")
    model = PLACEABLE.get(kind)
    obj = db.session.scalars(select(model).where(model.id == int(raw_id))).first() \
        if model is not None and raw_id.isdigit() else None  # through the territory filter, as every query
    if obj is None or not _in_cemetery(cemetery, kind, obj):
        flash(_("Choose what to place on the plan."), "error")
        return redirect(url_for("cemetery.scan_page", cemetery_id=cemetery.id))
    try:
        operations.place_on_image(cemetery, obj, _geometry())
    except Refused as exc:
        _flash_refused(exc)
        return redirect(url_for("cemetery.scan_page", cemetery_id=cemetery.id))
    db.session.commit()
    flash(_("Placed on the scanned plan."), "success")
    return redirect(url_for("cemetery.scan_page", cemetery_id=cemetery.id,
                            emplacement=obj.id if kind == "plot" else None))


# Emplacement -------------------------------------------------------------------------------------------------------

@bp.get("/emplacements/<int:plot_id>")
def plot(plot_id: int):
    plot = plot_or_404(plot_id)
    today = local_today()
    concession = operations.current_concession(plot)
    bodies = db.session.scalars(select(Deceased).where(Deceased.plot_id == plot.id)
                                .order_by(*Deceased.burial_order())).all()
    ops = db.session.scalars(select(Operation).options(joinedload(Operation.deceased))
                             .where((Operation.plot_id == plot.id) | (Operation.destination_plot_id == plot.id))
                             .order_by(Operation.on.desc(), Operation.id.desc())).all()
    reprises = db.session.scalars(select(Reprise).where(Reprise.plot_id == plot.id).order_by(Reprise.id.desc())).all()
    eligibility = {kind: operations.reprise_check(plot, kind, today)[0] for kind in schemas.REPRISE_LABELS}
    others = db.session.scalars(select(Plot).options(joinedload(Plot.alley).joinedload(Alley.zone))
                                .where(Plot.id != plot.id, Plot.kind.in_(("ossuary", "concession", "cavurne",
                                                                         "columbarium", "enfeu", "common_ground")))
                                .order_by(Plot.kind.desc(), Plot.id).limit(500)).all()
    used = operations.used_tenths(plot)
    return render_template("cemetery/plot.html", plot=plot, concession=concession, bodies=bodies, ops=ops,
                           reprises=reprises, eligibility=eligibility, others=others, used=used, today=today,
                           state=queries.state_of(plot, today),
                           config=_plan_config(plot.alley.zone.cemetery_id, draw="cemetery.write" in _perms(),
                                               focus=plot.id),
                           history=db.session.scalars(select(Concession).where(Concession.plot_id == plot.id)
                                                      .order_by(Concession.starts_on.desc())).all())


def _concession_values(errors):
    form = request.form
    kind = form.get("kind", "")
    if kind not in schemas.CONCESSION_KIND_LABELS:
        errors.append(_("Choose the type of concession."))
    return {"kind": kind,
            "duration_years": schemas.parse_int(form.get("duration_years"), _("duration"), errors),
            "price": schemas.parse_money(form.get("price"), _("price"), errors)}


@bp.post("/emplacements/<int:plot_id>/concessions")
@requires("cemetery.write")
def create_concession(plot_id: int):
    plot = plot_or_404(plot_id)
    errors: list = []
    values = _concession_values(errors)
    starts_on = schemas.parse_date(request.form.get("starts_on"), _("start"), errors)
    ends_on = schemas.parse_date(request.form.get("ends_on"), _("end"), errors, required=False)
    holder = schemas.person_values(request.form, "holder_")
    if not holder["last_name"]:
        errors.append(_("Give the holder's last name."))
    if not errors:
        try:
            concession = operations.create_concession(
                plot, starts_on=starts_on, ends_on=ends_on, number=request.form.get("number", "").strip()[:30],
                scope=request.form.get("scope") if request.form.get("scope") in schemas.SCOPE_LABELS else "family",
                people=[{"role": "holder", **holder}], **values)
        except Refused as exc:
            errors.append(str(exc))
    if errors:
        for e in errors:
            flash(str(e), "error")
        return redirect(url_for("cemetery.plot", plot_id=plot.id))
    db.session.commit()
    flash(_("Concession granted."), "success")
    return redirect(url_for("cemetery.concession", concession_id=concession.id))


@bp.post("/emplacements/<int:plot_id>/operations")
@requires("cemetery.write")
def record_operation(plot_id: int):
    plot = plot_or_404(plot_id)
    form = request.form
    errors: list = []
    kind = form.get("kind", "")
    on = schemas.parse_date(form.get("on"), _("date of the operation"), errors)
    deceased = deceased_or_404(form.get("deceased_id", type=int)) if form.get("deceased_id") else None
    destination_plot = plot_or_404(form.get("destination_plot_id", type=int)) \
        if form.get("destination_plot_id") else None
    new = None
    if deceased is None and kind in ("inhumation", "urn_deposit", "scattering"):
        new = {"last_name": " ".join(form.get("last_name", "").split())[:120],
               "first_names": " ".join(form.get("first_names", "").split())[:200],
               "birth_name": " ".join(form.get("birth_name", "").split())[:120],
               "birth_date": schemas.parse_date(form.get("birth_date"), _("birth date"), errors, required=False),
               "death_date": schemas.parse_date(form.get("death_date"), _("death date"), errors, required=False),
               "death_place": " ".join(form.get("death_place", "").split())[:120],
               "mpf": bool(form.get("mpf"))}
        if new["birth_date"] and new["death_date"] and new["birth_date"] > new["death_date"]:
            errors.append(_("The deceased was born after their death."))
        if new["death_date"] and on and new["death_date"] > on:
            errors.append(_("The burial cannot precede the death."))
    if not errors:
        try:
            operations.record_operation(kind, plot, on, deceased=deceased, new_deceased=new,
                                        funeral_operator=form.get("funeral_operator", "")[:200],
                                        authorisation_number=form.get("authorisation_number", "")[:60],
                                        destination_plot=destination_plot,
                                        destination=form.get("destination", "")[:200],
                                        notes=form.get("notes", "")[:2000], recorded_by=_user_name())
        except Refused as exc:
            errors.append(str(exc))
    if errors:
        for e in errors:
            flash(str(e), "error")
    else:
        db.session.commit()
        flash(_("Operation recorded."), "success")
    return redirect(url_for("cemetery.plot", plot_id=plot.id))


# Concession --------------------------------------------------------------------------------------------------------

TABS = ("deceased", "holders", "beneficiaries")


@bp.get("/concessions/<int:concession_id>")
def concession(concession_id: int):
    c = concession_or_404(concession_id)
    tab = request.args.get("onglet", "deceased")
    if tab not in TABS:
        tab = "deceased"
    bodies = db.session.scalars(select(Deceased).where(Deceased.plot_id == c.plot_id)
                                .order_by(*Deceased.burial_order())).all()
    today = local_today()
    window = rules.renewal_window(c.kind, c.ends_on)
    return render_template("cemetery/concession.html", c=c, tab=tab, bodies=bodies, today=today, window=window,
                           renewable=window is not None and window[0] <= today <= window[1] and c.status == "active",
                           refund=rules.retrocession_refund(c.price, c.starts_on, c.ends_on, today),
                           credit=rules.conversion_credit(c.price, c.starts_on, c.ends_on, today))


@bp.post("/concessions/<int:concession_id>/personnes")
@requires("cemetery.write")
def add_person(concession_id: int):
    c = concession_or_404(concession_id)
    role = request.form.get("role", "holder")
    try:
        operations.add_person(c, role=role, **schemas.person_values(request.form))
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Person added."), "success")
    return redirect(url_for("cemetery.concession", concession_id=c.id,
                            onglet="holders" if role == "holder" else "beneficiaries"))


@bp.post("/personnes/<int:person_id>")
@requires("cemetery.write")
def update_person(person_id: int):
    person = person_or_404(person_id)
    try:
        operations.update_person(person, **schemas.person_values(request.form),
                                 deceased=bool(request.form.get("deceased")))
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Changes saved."), "success")
    return redirect(url_for("cemetery.concession", concession_id=person.concession_id,
                            onglet="holders" if person.role == "holder" else "beneficiaries"))


@bp.post("/personnes/<int:person_id>/supprimer")
@requires("cemetery.write")
def remove_person(person_id: int):
    person = person_or_404(person_id)
    concession_id, role = person.concession_id, person.role
    try:
        operations.remove_person(person)
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Person removed."), "success")
    return redirect(url_for("cemetery.concession", concession_id=concession_id,
                            onglet="holders" if role == "holder" else "beneficiaries"))


@bp.post("/concessions/<int:concession_id>/renouveler")
@requires("cemetery.write")
def renew(concession_id: int):
    c = concession_or_404(concession_id)
    errors: list = []
    values = _concession_values(errors) if request.form.get("kind") else {
        "kind": None, "duration_years": None,
        "price": schemas.parse_money(request.form.get("price"), _("price"), errors)}
    if not errors:
        try:
            new = operations.renew_concession(c, local_today(), **values)
        except Refused as exc:
            errors.append(str(exc))
    if errors:
        for e in errors:
            flash(str(e), "error")
        return redirect(url_for("cemetery.concession", concession_id=c.id))
    db.session.commit()
    flash(_("Concession renewed until %(d)s.", d=new.ends_on.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("cemetery.concession", concession_id=new.id))


@bp.post("/concessions/<int:concession_id>/convertir")
@requires("cemetery.write")
def convert(concession_id: int):
    c = concession_or_404(concession_id)
    errors: list = []
    values = _concession_values(errors)
    if not errors:
        try:
            new = operations.convert_concession(c, local_today(), **values)
        except Refused as exc:
            errors.append(str(exc))
    if errors:
        for e in errors:
            flash(str(e), "error")
        return redirect(url_for("cemetery.concession", concession_id=c.id))
    db.session.commit()
    flash(_("Concession converted."), "success")
    return redirect(url_for("cemetery.concession", concession_id=new.id))


@bp.post("/concessions/<int:concession_id>/retroceder")
@requires("cemetery.write")
def retrocede(concession_id: int):
    c = concession_or_404(concession_id)
    errors: list = []
    refund = schemas.parse_money(request.form.get("refund"), _("refund"), errors)
    if not errors:
        try:
            operations.retrocede_concession(c, local_today(), refund)
        except Refused as exc:
            errors.append(str(exc))
    for e in errors:
        flash(str(e), "error")
    if not errors:
        db.session.commit()
        flash(_("Concession given back to the commune."), "success")
    return redirect(url_for("cemetery.concession", concession_id=c.id))


@bp.get("/concessions/<int:concession_id>/titre.pdf")
def title_pdf(concession_id: int):
    c = concession_or_404(concession_id)
    return pdf_response(documents.to_pdf(documents.title_html(c)), f"titre-concession-{c.number}.pdf")


@bp.get("/concessions/<int:concession_id>/courrier.pdf")
def letter_pdf(concession_id: int):
    c = concession_or_404(concession_id)
    if c.ends_on is None:
        abort(404)
    audit.record("cemetery.letters_printed", target=c, count=len(c.holders or c.beneficiaries), number=c.number)
    db.session.commit()
    return pdf_response(documents.to_pdf(documents.letters_html([c], local_today())), f"courrier-{c.number}.pdf")


@bp.post("/defunts/<int:deceased_id>/mort-pour-la-france")
@requires("cemetery.write")
def deceased_mpf(deceased_id: int):
    d = deceased_or_404(deceased_id)
    errors: list = []
    on = schemas.parse_date(request.form.get("mpf_on"), _("date of the mention"), errors, required=False)
    if errors:
        for e in errors:
            flash(str(e), "error")
    else:
        operations.set_mpf(d, bool(request.form.get("mpf")), on, request.form.get("mpf_source", ""))
        db.session.commit()
        flash(_("Mention saved."), "success")
    return redirect(url_for("cemetery.plot", plot_id=d.plot_id) if d.plot_id else url_for("cemetery.mpf_graves"))


@bp.get("/morts-pour-la-france")
def mpf_graves():
    """The graves of « Morts pour la France »: protected from a reprise for abandonment for fifty years."""
    today = local_today()
    rows = queries.mpf_graves(today)
    return render_template("cemetery/mpf.html", rows=rows, today=today)


# Deadlines ---------------------------------------------------------------------------------------------------------

@bp.get("/echeances")
def deadlines_page():
    today = local_today()
    items = queries.deadlines(today)
    return render_template("cemetery/deadlines.html", items=items, steps=queries.steps_due(today, 60), today=today)


@bp.get("/echeances/courriers.pdf")
def letters_pdf():
    months = request.args.get("mois", 6, type=int)
    if months not in (0, 3, 6):
        abort(404)
    today = local_today()
    chosen = [d.concession for d in queries.deadlines(today)
              if (d.months == 0 if months == 0 else 0 < d.months <= months)]
    audit.record("cemetery.letters_printed", count=len(chosen))
    db.session.commit()
    return pdf_response(documents.to_pdf(documents.letters_html(chosen, today)), f"courriers-echeances-{months}.pdf")


# Reprises ----------------------------------------------------------------------------------------------------------

@bp.get("/reprises")
def reprises():
    today = local_today()
    items = db.session.scalars(select(Reprise).options(joinedload(Reprise.plot), joinedload(Reprise.steps))
                               .order_by(Reprise.status, Reprise.id.desc())).unique().all()
    candidates = [d for d in queries.deadlines(today) if d.months == -1]
    return render_template("cemetery/reprises.html", items=items, candidates=candidates, today=today)


@bp.post("/emplacements/<int:plot_id>/reprises")
@requires("cemetery.write")
def open_reprise(plot_id: int):
    plot = plot_or_404(plot_id)
    try:
        reprise = operations.open_reprise(plot, request.form.get("kind", ""), local_today())
    except Refused as exc:
        _flash_refused(exc)
        return redirect(url_for("cemetery.plot", plot_id=plot.id))
    db.session.commit()
    flash(_("Reprise procedure opened."), "success")
    return redirect(url_for("cemetery.reprise", reprise_id=reprise.id))


@bp.get("/reprises/<int:reprise_id>")
def reprise(reprise_id: int):
    r = reprise_or_404(reprise_id)
    articles = {rule.code: rule.article for rule in rules.STEPS[r.kind]}
    return render_template("cemetery/reprise.html", r=r, articles=articles, today=local_today(),
                           nxt=next((s for s in r.steps if not s.done_on), None))


@bp.post("/reprises/<int:reprise_id>/etapes/<code>")
@requires("cemetery.write")
def complete_step(reprise_id: int, code: str):
    r = reprise_or_404(reprise_id)
    errors: list = []
    on = schemas.parse_date(request.form.get("on"), _("date"), errors)
    if not errors:
        try:
            operations.complete_step(r, code, on, notes=request.form.get("notes", "")[:2000])
        except Refused as exc:
            errors.append(str(exc))
    for e in errors:
        flash(str(e), "error")
    if not errors:
        db.session.commit()
        flash(_("Step recorded."), "success")
    return redirect(url_for("cemetery.reprise", reprise_id=r.id))


@bp.post("/reprises/<int:reprise_id>/arreter")
@requires("cemetery.write")
def stop_reprise(reprise_id: int):
    r = reprise_or_404(reprise_id)
    try:
        operations.stop_reprise(r, local_today(), request.form.get("reason", "")[:300])
    except Refused as exc:
        _flash_refused(exc)
    else:
        db.session.commit()
        flash(_("Procedure stopped."), "success")
    return redirect(url_for("cemetery.reprise", reprise_id=r.id))


@bp.get("/reprises/<int:reprise_id>/etapes/<code>.pdf")
def step_pdf(reprise_id: int, code: str):
    r = reprise_or_404(reprise_id)
    step = next((s for s in r.steps if s.code == code), None)
    if step is None:
        abort(404)
    article = next(rule.article for rule in rules.STEPS[r.kind] if rule.code == code)
    html = documents.reprise_html(r, step, article)
    return pdf_response(documents.to_pdf(html), f"reprise-{r.id}-{code}.pdf")


# Registers ---------------------------------------------------------------------------------------------------------

REGISTERS = ("concessions", "operations", "ossuary")


@bp.get("/registres")
def registers():
    jobs = db.session.scalars(select(RegisterJob).order_by(RegisterJob.id.desc()).limit(15)).all()
    return render_template("cemetery/registers.html", registers=REGISTERS, jobs=jobs)


@bp.post("/registres/<kind>/preparer")
def register_request(kind: str):
    """Queue the register's PDF (a Celery task): WeasyPrint takes minutes for a large cemetery."""
    if kind not in REGISTERS:
        abort(404)
    job = register_jobs.start(kind, active_insee(), current_user)
    db.session.commit()
    return redirect(url_for("cemetery.register_job", job_id=job.id))


@bp.get("/registres/travaux/<int:job_id>")
def register_job(job_id: int):
    return render_template("cemetery/register_job.html", job=register_job_or_404(job_id))


@bp.get("/registres/travaux/<int:job_id>/fichier")
def register_download(job_id: int):
    job = register_job_or_404(job_id)
    if job.status != "done" or not job.file_key:
        abort(404)
    try:
        data = register_jobs.STORE.read(job.file_key, job.sha256, job.size)
    except StorageError as exc:
        log.warning("cemetery register job %s: %s", job.id, exc)
        abort(404)
    audit.record("cemetery.register_downloaded", target=job, register=job.kind, lines=job.lines)
    db.session.commit()
    return pdf_response(data, register_jobs.FILENAMES[job.kind], download=True)


@bp.get("/registres/<kind>.csv")
def register_csv(kind: str):
    if kind not in REGISTERS:
        abort(404)
    if kind == "concessions":
        header = [_("Number"), _("Cemetery"), _("Emplacement"), _("Type"), _("Duration"), _("From"), _("Until"),
                  _("Price"), _("Holders"), _("Ayants droit"), _("Status"), _("Mort pour la France")]
        mpf = queries.mpf_plot_ids()
        rows = [[c.number, c.plot.alley.zone.cemetery.name, c.plot.label, str(LABELS["concession_kinds"][c.kind]),
                 c.duration_years or "", c.starts_on.isoformat(), c.ends_on.isoformat() if c.ends_on else "",
                 c.price, ", ".join(p.full_name for p in c.holders), ", ".join(p.full_name for p in c.beneficiaries),
                 str(LABELS["statuses"][c.status]), _("yes") if c.plot_id in mpf else ""]
                for c in documents.concession_rows()]
    else:
        rows_src = documents.operation_rows() if kind == "operations" else documents.ossuary_rows()
        header = [_("Date"), _("Operation"), _("Deceased"), _("Emplacement"), _("Destination"), _("Funeral operator"),
                  _("Authorisation"), _("Mort pour la France")]
        if kind == "operations":
            rows = [[o.on.isoformat(), str(LABELS["operations"][o.kind]), o.deceased, o.place, o.destination,
                     o.funeral_operator, o.authorisation_number, _("yes") if o.mpf else ""] for o in rows_src]
        else:
            rows = [[o.on.isoformat(), str(LABELS["operations"][o.kind]), o.deceased.full_name if o.deceased else "",
                     o.plot.label, o.destination_plot.label if o.destination_plot else o.destination,
                     o.funeral_operator, o.authorisation_number, _("yes") if o.deceased and o.deceased.mpf else ""]
                    for o in rows_src]
    return csv_response(rows, f"registre-{kind}.csv", header)


# Tariffs, settings -------------------------------------------------------------------------------------------------

@bp.route("/tarifs", methods=["GET", "POST"])
def tariffs():
    if request.method == "POST":
        if "cemetery.write" not in _perms():
            abort(403)
        errors: list = []
        form = request.form
        kind = form.get("kind", "")
        if kind not in schemas.CONCESSION_KIND_LABELS:
            errors.append(_("Choose the type of concession."))
        plot_kind = form.get("plot_kind", "concession")
        if plot_kind not in operations.CONCESSION_PLOT_KINDS:
            errors.append(_("Choose the type of emplacement."))
        duration = schemas.parse_int(form.get("duration_years"), _("duration"), errors)
        valid_from = schemas.parse_date(form.get("valid_from"), _("in force from"), errors)
        price = schemas.parse_money(form.get("price"), _("price"), errors)
        if price is None and not errors:
            errors.append(_("Give the price."))
        if not errors:
            try:
                operations.add_tariff(active_insee(), plot_kind, kind, duration, valid_from, price,
                                      form.get("deliberation", "").strip()[:200])
            except Refused as exc:
                errors.append(str(exc))
        for e in errors:
            flash(str(e), "error")
        if not errors:
            db.session.commit()
            flash(_("Tariff added."), "success")
        return redirect(url_for("cemetery.tariffs"))
    rows = db.session.scalars(select(Tariff).order_by(Tariff.plot_kind, Tariff.concession_kind,
                                                      Tariff.duration_years, Tariff.valid_from.desc())).all()
    return render_template("cemetery/tariffs.html", rows=rows, plot_kinds=operations.CONCESSION_PLOT_KINDS)


@bp.route("/reglages", methods=["GET", "POST"])
def preferences():
    pref = db.session.scalar(select(Preference))
    if request.method == "POST":
        if "cemetery.write" not in _perms():
            abort(403)
        operations.set_preference(active_insee(), public_search=bool(request.form.get("public_search")),
                                  public_dates=bool(request.form.get("public_dates")))
        db.session.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("cemetery.preferences"))
    return render_template("cemetery/preferences.html", pref=pref, insee=active_insee())


# Import ------------------------------------------------------------------------------------------------------------

@bp.get("/import")
@requires("cemetery.write")
def import_page():
    return render_template("cemetery/import.html", columns=importer.COLUMNS, report=None)


@bp.get("/import/modele.csv")
def import_template():
    return csv_response([], "modele-import-cimetiere.csv", text=importer.template_csv())


@bp.post("/import")
@requires("cemetery.write")
def import_preview():
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    try:
        info = check_upload(data, upload.filename if upload else "", allowed={"csv", "xlsx"}, max_bytes=20 * 2 ** 20)
        rows = importer.read_table(data, info.kind)
    except UploadRejected as exc:
        log.info("cemetery import refused: %s", exc.reason_en)
        flash(str(exc.message_fr), "error")
        return redirect(url_for("cemetery.import_page"))
    except importer.ImportFileError as exc:
        log.info("cemetery import: file not read as a table (%s)", upload.filename)
        flash(str(exc), "error")
        return redirect(url_for("cemetery.import_page"))
    report = importer.run(rows, active_insee(), setting("CEMETERY_IMPORT_MAX_ROWS"))
    db.session.rollback()  # a preview: nothing written
    stored = None
    if report.ok:
        stored = IMPORTS.save(f"{active_insee()}", data)
        session["cemetery_import"] = {"key": stored.key, "sha256": stored.sha256, "size": stored.size,
                                      "kind": info.kind, "name": (upload.filename or "")[:120]}
    return render_template("cemetery/import.html", columns=importer.COLUMNS, report=report, ready=stored is not None,
                           filename=upload.filename)


@bp.post("/import/confirmer")
@requires("cemetery.write")
def import_confirm():
    pending = session.pop("cemetery_import", None)
    if not pending or not pending["key"].startswith(active_insee() + "/"):
        flash(_("Send the file again: its preview is no longer available."), "error")
        return redirect(url_for("cemetery.import_page"))
    try:
        data = IMPORTS.read(pending["key"], pending["sha256"], pending["size"])
    except (StorageError, OSError):
        flash(_("Send the file again: its preview is no longer available."), "error")
        return redirect(url_for("cemetery.import_page"))
    rows = importer.read_table(data, pending["kind"])
    report = importer.run(rows, active_insee(), setting("CEMETERY_IMPORT_MAX_ROWS"))
    if not report.ok:  # the data changed since the preview
        db.session.rollback()
        return render_template("cemetery/import.html", columns=importer.COLUMNS, report=report, ready=False,
                               filename=pending["name"])
    db.session.commit()
    IMPORTS.remove(pending["key"])
    flash(_("Import done: %(p)s emplacements, %(c)s concessions and %(d)s deceased added.",
            p=report.created["plots"], c=report.created["concessions"], d=report.created["deceased"]), "success")
    return redirect(url_for("cemetery.index"))
