"""The cemetery's writes, shared by its pages, its API, its import and its commands (no ``flask.request`` here).

Every function checks the rules first (:mod:`rules`) and raises :class:`Refused` with a French message before it
writes anything; what it writes is flushed, audited (``portal.audit.record``) and left to the caller to commit.
"""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db

from . import rules
from .models import Alley, Cemetery, Concession, Deceased, Operation, Person, Plot, Preference, \
    Reprise, RepriseStep, Tariff, Zone
from .rules import RuleError as Refused  # noqa: F401 - the name the views catch

CONCESSION_PLOT_KINDS = ("concession", "columbarium", "cavurne", "enfeu")
NO_LIMIT_KINDS = ("ossuary", "garden")
DEFAULT_CAPACITY = {"concession": 20, "common_ground": 10, "columbarium": 4, "cavurne": 4, "enfeu": 10}


def _iso(day):
    return day.isoformat() if day else None


# Plan ------------------------------------------------------------------------------------------------------------

def check_geometry(geometry) -> dict | None:
    """A GeoJSON polygon in WGS84 drawn on the map, or None; Refused when it is not one."""
    if geometry in (None, "", {}):
        return None
    try:
        assert geometry["type"] == "Polygon"
        ring = [[round(float(x), 7), round(float(y), 7)] for x, y in geometry["coordinates"][0]]  # 1 cm
        assert len(ring) >= 4 and all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring)
    except (AssertionError, KeyError, TypeError, ValueError, IndexError):
        raise Refused(_("The shape drawn is not a polygon of the map.")) from None
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def create_cemetery(name: str, commune_insee: str, address: str = "", geometry=None) -> Cemetery:
    if not name.strip():
        raise Refused(_("Give the cemetery a name."))
    cemetery = Cemetery(name=name.strip(), address=address.strip(), commune_insee=commune_insee)
    cemetery.set_geometry(check_geometry(geometry))
    db.session.add(cemetery)
    db.session.flush()
    audit.record("cemetery.plan_changed", target=cemetery, name=cemetery.name)
    return cemetery


def create_zone(cemetery: Cemetery, name: str, geometry=None) -> Zone:
    name = name.strip()
    if not name:
        raise Refused(_("Give the zone a name."))
    if db.session.scalar(select(Zone.id).where(Zone.cemetery_id == cemetery.id, Zone.name == name)):
        raise Refused(_("This cemetery already has a zone named « %(name)s ».", name=name))
    zone = Zone(cemetery=cemetery, name=name, commune_insee=cemetery.commune_insee)
    zone.set_geometry(check_geometry(geometry))
    db.session.add(zone)
    db.session.flush()
    audit.record("cemetery.plan_changed", target=zone, name=name)
    return zone


def create_alley(zone: Zone, name: str, geometry=None) -> Alley:
    name = name.strip()
    if not name:
        raise Refused(_("Give the allée a name."))
    if db.session.scalar(select(Alley.id).where(Alley.zone_id == zone.id, Alley.name == name)):
        raise Refused(_("This zone already has an allée named « %(name)s ».", name=name))
    alley = Alley(zone=zone, name=name, commune_insee=zone.commune_insee)
    alley.set_geometry(check_geometry(geometry))
    db.session.add(alley)
    db.session.flush()
    audit.record("cemetery.plan_changed", target=alley, name=name)
    return alley


def create_plot(alley: Alley, number: str, kind: str = "concession", capacity_tenths: int | None = None,
                geometry=None, area_m2: float | None = None, monument: str = "") -> Plot:
    number = number.strip()
    if not number:
        raise Refused(_("Give the emplacement a number."))
    if kind not in DEFAULT_CAPACITY and kind not in NO_LIMIT_KINDS:
        raise Refused(_("Unknown emplacement type."))
    if db.session.scalar(select(Plot.id).where(Plot.alley_id == alley.id, Plot.number == number)):
        raise Refused(_("This allée already has an emplacement number %(n)s.", n=number))
    if kind in NO_LIMIT_KINDS:
        capacity_tenths = None
    elif capacity_tenths is None:
        capacity_tenths = DEFAULT_CAPACITY[kind]
    elif capacity_tenths <= 0:
        raise Refused(_("An emplacement has at least one tenth of a place."))
    plot = Plot(alley=alley, number=number, kind=kind, capacity_tenths=capacity_tenths, area_m2=area_m2,
                monument=monument, commune_insee=alley.commune_insee)
    plot.set_geometry(check_geometry(geometry))
    db.session.add(plot)
    db.session.flush()
    audit.record("cemetery.plan_changed", target=plot, name=plot.number, kind=kind)
    return plot


def set_shape(obj, geometry) -> None:
    obj.set_geometry(check_geometry(geometry))
    db.session.flush()
    audit.record("cemetery.plan_changed", target=obj, name=getattr(obj, "name", None) or getattr(obj, "number", ""))


# The scanned plan ------------------------------------------------------------------------------------------------

def check_image_geometry(geometry, width: int, height: int) -> dict | None:
    """A polygon drawn on the scanned plan, in the image's pixels (``[x, y]`` from the top left), or None."""
    if geometry in (None, "", {}):
        return None
    try:
        assert geometry["type"] == "Polygon"
        ring = [[round(float(x), 1), round(float(y), 1)] for x, y in geometry["coordinates"][0]]
        assert len(ring) >= 4 and all(-1 <= x <= width + 1 and -1 <= y <= height + 1 for x, y in ring)
    except (AssertionError, KeyError, TypeError, ValueError, IndexError):
        raise Refused(_("The shape drawn is not a polygon inside the scanned plan.")) from None
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def set_plan_image(cemetery: Cemetery, stored, kind: str, width: int, height: int) -> str | None:
    """Attach the scanned plan (already stored); returns the key of the plan it replaces (to discard). A plan of
    another size makes the shapes placed on the old one meaningless: they are cleared."""
    old = cemetery.plan_image_key
    resized = (cemetery.plan_image_width, cemetery.plan_image_height) != (width, height)
    cemetery.plan_image_key, cemetery.plan_image_sha256, cemetery.plan_image_size = stored.key, stored.sha256, \
        stored.size
    cemetery.plan_image_kind, cemetery.plan_image_width, cemetery.plan_image_height = kind, width, height
    cleared = 0
    if resized and old:
        for model in (Cemetery, Zone, Alley, Plot):
            stmt = select(model).where(model.image_geometry.is_not(None))
            if model is Zone:
                stmt = stmt.where(Zone.cemetery_id == cemetery.id)
            elif model is Alley:
                stmt = stmt.join(Zone).where(Zone.cemetery_id == cemetery.id)
            elif model is Plot:
                stmt = stmt.join(Alley).join(Zone).where(Zone.cemetery_id == cemetery.id)
            else:
                stmt = stmt.where(Cemetery.id == cemetery.id)
            for obj in db.session.scalars(stmt):
                obj.image_geometry = None
                cleared += 1
    db.session.flush()
    audit.record("cemetery.plan_image_uploaded", target=cemetery, name=cemetery.name, width=width, height=height,
                 count=cleared)
    return old


def place_on_image(cemetery: Cemetery, obj, geometry) -> None:
    """Give ``obj`` (the cemetery, or one of its zones, allées, emplacements) its shape on the scanned plan."""
    if not cemetery.plan_image_key:
        raise Refused(_("Send the scanned plan of this cemetery first."))
    shape = check_image_geometry(geometry, cemetery.plan_image_width, cemetery.plan_image_height)
    if shape is None:
        raise Refused(_("Draw the shape on the scanned plan first."))
    obj.image_geometry = shape
    db.session.flush()
    label = obj.label if isinstance(obj, Plot) else obj.name
    audit.record("cemetery.placed_on_image", target=obj, cemetery=cemetery.name, placed=label)


# Reads the rules need ----------------------------------------------------------------------------------------------

def used_tenths(plot: Plot) -> int:
    bodies = db.session.scalars(select(Deceased.body).where(Deceased.plot_id == plot.id)).all()
    return rules.tenths_of(bodies)


def current_concession(plot: Plot) -> Concession | None:
    return db.session.scalar(select(Concession).where(Concession.plot_id == plot.id, Concession.status == "active")
                             .order_by(Concession.starts_on.desc()).limit(1))


def last_burial(plot: Plot) -> dt.date | None:
    return db.session.scalar(select(func.max(Operation.on)).where(
        Operation.plot_id == plot.id, Operation.kind.in_(("inhumation", "urn_deposit"))))


def mpf_burials(plot: Plot) -> list[tuple[str, dt.date | None]]:
    """(name, burial date — else death date) of each « Mort pour la France » resting in ``plot``."""
    out = []
    for d in db.session.scalars(select(Deceased).where(Deceased.plot_id == plot.id, Deceased.mpf.is_(True))):
        buried = db.session.scalar(select(func.min(Operation.on)).where(
            Operation.deceased_id == d.id, Operation.plot_id == plot.id,
            Operation.kind.in_(("inhumation", "urn_deposit"))))
        out.append((d.full_name, buried or d.death_date))
    return out


def set_mpf(deceased: Deceased, mpf: bool, on: dt.date | None, source: str) -> None:
    """Record (or withdraw) the « Mort pour la France » mention of a deceased, audited."""
    if not mpf and (on or source):
        on, source = None, ""
    before = (deceased.mpf, deceased.mpf_on, deceased.mpf_source)
    deceased.mpf, deceased.mpf_on, deceased.mpf_source = mpf, on, source.strip()[:200]
    if before != (deceased.mpf, deceased.mpf_on, deceased.mpf_source):
        db.session.flush()
        audit.record("cemetery.mpf_changed", target=deceased, deceased=deceased.full_name, mpf=mpf,
                     on=on.isoformat() if on else "", source=deceased.mpf_source)


def tariff_for(plot_kind: str, kind: str, duration_years: int | None, on: dt.date) -> Tariff | None:
    """The line of the commune's tariff table in force on ``on`` for that concession."""
    stmt = select(Tariff).where(Tariff.plot_kind == plot_kind, Tariff.concession_kind == kind,
                                Tariff.valid_from <= on)
    stmt = stmt.where(Tariff.duration_years.is_(None) if duration_years is None
                      else Tariff.duration_years == duration_years)
    return db.session.scalar(stmt.order_by(Tariff.valid_from.desc()).limit(1))


def add_tariff(commune_insee: str, plot_kind: str, kind: str, duration_years: int | None, valid_from: dt.date,
               price: float, deliberation: str = "") -> Tariff:
    years = rules.duration_for(kind, duration_years)
    if price is None or price < 0:
        raise Refused(_("Give a price of zero or more."))
    stmt = select(Tariff.id).where(Tariff.plot_kind == plot_kind, Tariff.concession_kind == kind,
                                   Tariff.valid_from == valid_from)
    stmt = stmt.where(Tariff.duration_years.is_(None) if years is None else Tariff.duration_years == years)
    if db.session.scalar(stmt):
        raise Refused(_("This tariff already has a price from %(d)s.", d=valid_from.strftime("%d/%m/%Y")))
    tariff = Tariff(commune_insee=commune_insee, plot_kind=plot_kind, concession_kind=kind, duration_years=years,
                    valid_from=valid_from, price=price, deliberation=deliberation)
    db.session.add(tariff)
    db.session.flush()
    audit.record("cemetery.tariff_added", target=tariff, kind=kind, duration=years, valid_from=_iso(valid_from),
                 price=price)
    return tariff


# Concessions -------------------------------------------------------------------------------------------------------

def _price(plot: Plot, kind: str, years: int | None, on: dt.date, price: float | None) -> tuple[float, Tariff | None]:
    tariff = tariff_for(plot.kind, kind, years, on)
    if price is not None:
        return price, tariff
    if tariff is None:
        raise Refused(_("No tariff of the commune covers this concession on %(d)s: add it to the tariff table or "
                        "type the price.", d=on.strftime("%d/%m/%Y")))
    return float(tariff.price), tariff


def create_concession(plot: Plot, *, kind: str, starts_on: dt.date, duration_years: int | None = None,
                      ends_on: dt.date | None = None, price: float | None = None, number: str = "",
                      scope: str = "family", people: list[dict] = (), notes: str = "") -> Concession:
    """A new concession of ``plot``. ``ends_on`` may be given (an import of old titles); it must follow the start."""
    if plot.kind not in CONCESSION_PLOT_KINDS:
        raise Refused(_("This emplacement is not granted as a concession (terrain commun, ossuary or jardin du "
                        "souvenir)."))
    if plot.in_reprise:
        raise Refused(_("This emplacement is being taken back by the commune."))
    if current_concession(plot) is not None:
        raise Refused(_("This emplacement already has a concession in force."))
    years = rules.duration_for(kind, duration_years)
    if ends_on is None:
        ends_on = rules.concession_end(kind, starts_on, years)
    elif kind == "perpetual":
        raise Refused(_("A perpetual concession has no end date."))
    rules.check_period(starts_on, ends_on)
    amount, tariff = _price(plot, kind, years, starts_on, price)
    concession = Concession(plot=plot, kind=kind, duration_years=years, starts_on=starts_on, ends_on=ends_on,
                            price=amount, tariff_id=tariff.id if tariff else None, number=number,
                            scope=scope, notes=notes, commune_insee=plot.commune_insee)
    db.session.add(concession)
    db.session.flush()
    if not concession.number:
        concession.number = f"{starts_on.year}-{concession.id:05d}"
    for data in people:
        add_person(concession, **data)
    audit.record("cemetery.concession_created", target=concession, number=concession.number, plot=plot.label,
                 kind=kind, starts_on=_iso(starts_on), ends_on=_iso(ends_on), price=amount)
    return concession


def _new_period(old: Concession, *, kind: str, years: int | None, starts_on: dt.date, price: float,
                tariff: Tariff | None, status: str) -> Concession:
    new = Concession(plot_id=old.plot_id, kind=kind, duration_years=years, starts_on=starts_on,
                     ends_on=rules.concession_end(kind, starts_on, years), price=price,
                     tariff_id=tariff.id if tariff else None, number=old.number, scope=old.scope, previous=old,
                     commune_insee=old.commune_insee)
    db.session.add(new)
    old.status = status
    db.session.flush()
    for p in old.people:  # the holders and ayants droit carry over
        db.session.add(Person(concession=new, role=p.role, last_name=p.last_name, first_names=p.first_names,
                              relationship_=p.relationship_, address=p.address, postcode=p.postcode, city=p.city,
                              phone=p.phone, email=p.email, deceased=p.deceased, commune_insee=p.commune_insee))
    db.session.flush()
    return new


def renew_concession(concession: Concession, today: dt.date, *, kind: str | None = None,
                     duration_years: int | None = None, price: float | None = None) -> Concession:
    """L2223-15: renewed from its expiry date, for the same (or another fixed) duration, at the tariff in force on
    the day of the renewal."""
    if concession.status != "active":
        raise Refused(_("Only the concession in force can be renewed."))
    rules.check_renewal(concession.kind, concession.ends_on, today)
    kind = kind or concession.kind
    if kind == "perpetual":
        raise Refused(_("A renewal is for a limited period; to make it perpetual, convert the concession."))
    years = rules.duration_for(kind, duration_years if duration_years is not None else concession.duration_years)
    amount, tariff = _price(concession.plot, kind, years, today, price)
    new = _new_period(concession, kind=kind, years=years, starts_on=concession.ends_on, price=amount, tariff=tariff,
                      status="renewed")
    new.closed_on = None
    concession.closed_on = today
    if concession.plot.in_reprise:
        _stop_reprises(concession.plot, today, _("Concession renewed"))
    audit.record("cemetery.concession_renewed", target=new, number=new.number, starts_on=_iso(new.starts_on),
                 ends_on=_iso(new.ends_on), price=amount, previous=concession.id)
    return new


def convert_concession(concession: Concession, on: dt.date, *, kind: str, duration_years: int | None = None,
                       price: float | None = None) -> Concession:
    """L2223-16: into a concession of longer duration, from ``on``, the time left of the old one deducted."""
    if concession.status != "active":
        raise Refused(_("Only the concession in force can be converted."))
    years = rules.duration_for(kind, duration_years)
    old_years = concession.duration_years
    if concession.kind == "perpetual" or (years is not None and old_years is not None and years <= old_years):
        raise Refused(_("A concession is converted into one of longer duration only (article L2223-16 of the "
                        "CGCT)."))
    if concession.ends_on is not None and on > rules.add_years(concession.ends_on, rules.RENEWAL_AFTER_EXPIRY_YEARS):
        raise Refused(_("This concession expired more than two years ago: it can no longer be converted."))
    full, tariff = _price(concession.plot, kind, years, on, price)
    credit = 0.0 if price is not None else rules.conversion_credit(concession.price, concession.starts_on,
                                                                     concession.ends_on, on)
    new = _new_period(concession, kind=kind, years=years, starts_on=on, price=round(full - credit, 2),
                      tariff=tariff, status="converted")
    concession.closed_on = on
    audit.record("cemetery.concession_converted", target=new, number=new.number, kind=kind,
                 starts_on=_iso(on), ends_on=_iso(new.ends_on), price=new.price, credit=credit,
                 previous=concession.id)
    return new


def retrocede_concession(concession: Concession, on: dt.date, refund: float | None = None) -> Concession:
    """The holder gives the concession back to the commune; only an empty emplacement can be given back."""
    if concession.status != "active":
        raise Refused(_("Only the concession in force can be given back."))
    if used_tenths(concession.plot) > 0:
        raise Refused(_("An emplacement where someone rests cannot be given back to the commune: the remains must "
                        "be moved first (exhumation)."))
    if refund is None:
        refund = rules.retrocession_refund(concession.price, concession.starts_on, concession.ends_on, on)
    if refund < 0 or refund > float(concession.price):
        raise Refused(_("The refund is between zero and the price paid."))
    concession.status, concession.closed_on, concession.refund = "retroceded", on, refund
    db.session.flush()
    audit.record("cemetery.concession_retroceded", target=concession, number=concession.number, on=_iso(on),
                 refund=refund)
    return concession


PERSON_FIELDS = ("last_name", "first_names", "relationship_", "address", "postcode", "city", "phone", "email",
                 "deceased")


def add_person(concession: Concession, role: str = "holder", **values) -> Person:
    if role not in ("holder", "beneficiary"):
        raise Refused(_("Unknown role."))
    if not (values.get("last_name") or "").strip():
        raise Refused(_("Give the person's last name."))
    person = Person(concession=concession, role=role, commune_insee=concession.commune_insee,
                    **{k: (v.strip() if isinstance(v, str) else v) for k, v in values.items() if k in PERSON_FIELDS})
    db.session.add(person)
    db.session.flush()
    audit.record("cemetery.person_added", target=concession, number=concession.number, name=person.full_name,
                 role=role)
    return person


def update_person(person: Person, **values) -> Person:
    if "last_name" in values and not (values["last_name"] or "").strip():
        raise Refused(_("Give the person's last name."))
    for key, value in values.items():
        if key in PERSON_FIELDS:
            setattr(person, key, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    audit.record("cemetery.person_changed", target=person.concession, number=person.concession.number,
                 name=person.full_name, role=person.role)
    return person


def remove_person(person: Person) -> None:
    concession = person.concession
    if person.role == "holder" and len(concession.holders) == 1:
        raise Refused(_("A concession keeps at least one holder: add the new holder first."))
    audit.record("cemetery.person_removed", target=concession, number=concession.number, name=person.full_name,
                 role=person.role)
    db.session.delete(person)
    db.session.flush()


# Operations --------------------------------------------------------------------------------------------------------

def record_operation(kind: str, plot: Plot, on: dt.date, *, deceased: Deceased | None = None,
                     new_deceased: dict | None = None, funeral_operator: str = "", authorisation_number: str = "",
                     destination_plot: Plot | None = None, destination: str = "", notes: str = "",
                     recorded_by: str = "", today: dt.date | None = None) -> Operation:
    """An operation in ``plot``, after the rules: room left, the concession in force, an authorisation for what
    disturbs a body, a known destination for what leaves the emplacement."""
    today = today or local_today()
    authorisation_number = authorisation_number.strip()
    if on > today + dt.timedelta(days=60):
        raise Refused(_("The date of the operation is too far in the future."))
    if kind in ("inhumation", "urn_deposit", "scattering"):
        if deceased is None and not (new_deceased or {}).get("last_name", "").strip():
            raise Refused(_("Give the last name of the deceased."))
        if plot.in_reprise:
            raise Refused(_("This emplacement is being taken back by the commune: no burial in it."))
        if kind == "scattering" and plot.kind != "garden":
            raise Refused(_("Ashes are scattered in the jardin du souvenir."))
        if kind != "scattering":
            if plot.kind == "garden":
                raise Refused(_("Only a scattering of ashes takes place in the jardin du souvenir."))
            if kind == "inhumation" and plot.kind in ("columbarium",):
                raise Refused(_("A columbarium case receives urns only."))
            if plot.kind in CONCESSION_PLOT_KINDS:
                concession = current_concession(plot)
                if concession is None:
                    raise Refused(_("This emplacement has no concession in force: grant one before the burial."))
                if concession.ends_on is not None and concession.ends_on < on:
                    raise Refused(_("The concession expired on %(d)s: renew it before the burial.",
                                    d=concession.ends_on.strftime("%d/%m/%Y")))
            body = "coffin" if kind == "inhumation" else "urn"
            rules.check_room(plot.capacity_tenths, used_tenths(plot), body)
        if deceased is None:
            data = dict(new_deceased)
            data["body"] = "urn" if kind in ("urn_deposit", "scattering") else "coffin"
            deceased = Deceased(commune_insee=plot.commune_insee, **data)
            db.session.add(deceased)
        elif deceased.plot_id is not None and deceased.plot_id != plot.id:
            raise Refused(_("This deceased already rests in another emplacement: record an exhumation first."))
        deceased.plot = plot
    elif kind in ("exhumation", "reduction", "reunion"):
        if deceased is None or deceased.plot_id != plot.id:
            raise Refused(_("Choose a deceased who rests in this emplacement."))
        if not authorisation_number:
            raise Refused(_("An exhumation needs the mayor's authorisation: give its number (article R2213-40 of "
                            "the CGCT)."))
        if kind == "exhumation":
            if destination_plot is None and not destination.strip():
                raise Refused(_("Say where the remains go: another emplacement, the ossuary or a place outside the "
                                "cemetery."))
            if destination_plot is not None:
                if destination_plot.id == plot.id:
                    raise Refused(_("The remains must leave this emplacement."))
                rules.check_room(destination_plot.capacity_tenths, used_tenths(destination_plot), deceased.body)
            deceased.plot = destination_plot
            deceased.where_now = "" if destination_plot is not None else destination.strip()
        else:
            if deceased.body != "coffin":
                raise Refused(_("Only a body in a coffin can be reduced."))
            if deceased.death_date and rules.add_years(deceased.death_date, 5) > on:
                raise Refused(_("A reduction of the body takes place no sooner than five years after the death."))
            deceased.body = "reduction"
    else:
        raise Refused(_("Unknown operation."))
    op = Operation(kind=kind, plot=plot, deceased=deceased, destination_plot=destination_plot,
                   destination=destination.strip(), on=on, funeral_operator=funeral_operator.strip(),
                   authorisation_number=authorisation_number, notes=notes, recorded_by=recorded_by,
                   commune_insee=plot.commune_insee)
    db.session.add(op)
    db.session.flush()
    audit.record("cemetery.operation_recorded", target=op, operation=kind, plot=plot.label,
                 deceased=deceased.full_name if deceased else None, on=_iso(on),
                 authorisation=authorisation_number or None)
    return op


# Reprise -----------------------------------------------------------------------------------------------------------

def reprise_check(plot: Plot, kind: str, today: dt.date) -> tuple[list[str], dt.date | None]:
    """Reasons against opening a reprise of ``kind`` on ``plot`` today, and the floor of its last steps."""
    if kind == "abandonment":
        c = current_concession(plot)
        if c is not None and c.ends_on is not None and c.ends_on <= today:
            return [_("This concession has expired: follow the reprise of an expired concession instead.")], None
        return (rules.abandonment_eligibility(c.starts_on if c else None, last_burial(plot), today)
                + rules.mpf_protection(mpf_burials(plot), today)), None
    if kind == "expired":
        c = current_concession(plot)
        return rules.expired_eligibility(c.kind if c else None, c.ends_on if c else None, today)
    if kind == "common_ground":
        if plot.kind != "common_ground":
            return [_("This emplacement is not in the terrain commun.")], None
        return rules.common_ground_eligibility(last_burial(plot), plot.alley.zone.cemetery.common_ground_years, today)
    return [_("Unknown procedure.")], None


def open_reprise(plot: Plot, kind: str, today: dt.date) -> Reprise:
    if db.session.scalar(select(Reprise.id).where(Reprise.plot_id == plot.id, Reprise.status == "open")):
        raise Refused(_("A reprise of this emplacement is already under way."))
    reasons, _floor = reprise_check(plot, kind, today)
    if reasons:
        raise Refused(" ".join(str(r) for r in reasons))
    concession = current_concession(plot)
    reprise = Reprise(plot=plot, concession=concession, kind=kind, opened_on=today,
                      commune_insee=plot.commune_insee)
    for i, rule in enumerate(rules.STEPS[kind]):
        reprise.steps.append(RepriseStep(position=i, code=rule.code, commune_insee=plot.commune_insee))
    db.session.add(reprise)
    plot.in_reprise = True
    db.session.flush()
    refresh_due_dates(reprise)
    audit.record("cemetery.reprise_opened", target=reprise, plot=plot.label, procedure=kind)
    return reprise


def _floor(reprise: Reprise, code: str) -> dt.date | None:
    """A date no step may precede, beyond the delay after the step before (the law's other clocks)."""
    if reprise.kind == "expired" and code == "arrete" and reprise.concession and reprise.concession.ends_on:
        return rules.add_years(reprise.concession.ends_on, rules.RENEWAL_AFTER_EXPIRY_YEARS)
    if reprise.kind == "common_ground" and code == "arrete":
        _reasons, first = rules.common_ground_eligibility(last_burial(reprise.plot),
                                                          reprise.plot.alley.zone.cemetery.common_ground_years,
                                                          dt.date.max)
        return first
    return None


def refresh_due_dates(reprise: Reprise) -> None:
    done = {s.code: s.done_on for s in reprise.steps if s.done_on}
    by_code = {r.code: r for r in rules.STEPS[reprise.kind]}
    for step in reprise.steps:
        step.due_on = rules.earliest(by_code[step.code], done, _floor(reprise, step.code) or
                                     (reprise.opened_on if by_code[step.code].after is None else None))
    db.session.flush()


def complete_step(reprise: Reprise, code: str, on: dt.date, today: dt.date | None = None, notes: str = "") -> RepriseStep:
    """Mark step ``code`` done on ``on``: refused out of order, before its legal delay, or in the future."""
    today = today or local_today()
    if reprise.status != "open":
        raise Refused(_("This procedure is closed."))
    by_code = {r.code: r for r in rules.STEPS[reprise.kind]}
    step = next((s for s in reprise.steps if s.code == code), None)
    if step is None:
        raise Refused(_("Unknown step."))
    if step.done_on:
        raise Refused(_("This step is already done."))
    if on > today:
        raise Refused(_("A step is recorded once done: the date cannot be in the future."))
    rule = by_code[code]
    pending = [s for s in reprise.steps if s.position < step.position and not s.done_on]
    if pending:
        raise Refused(_("Do the steps in order: « %(step)s » comes first.", step=step_label(pending[0].code)))
    if step.due_on and on < step.due_on:
        raise Refused(_("Too early: this step may not be done before %(d)s (article %(a)s of the CGCT).",
                        d=step.due_on.strftime("%d/%m/%Y"), a=rule.article))
    if rule.within_days is not None:
        base = next(s.done_on for s in reprise.steps if s.code == rule.after)
        if on > base + dt.timedelta(days=rule.within_days):
            raise Refused(_("Too late: this step must be done within %(n)s days of the previous one (article "
                            "%(a)s of the CGCT). Start the procedure again.", n=rule.within_days, a=rule.article))
    step.done_on, step.notes = on, notes
    refresh_due_dates(reprise)
    audit.record("cemetery.reprise_step_done", target=reprise, plot=reprise.plot.label, step=step_label(code),
                 on=_iso(on))
    if code == "removal":
        _finish(reprise, on)
    return step


def _finish(reprise: Reprise, on: dt.date) -> None:
    """The ground is the commune's again: the concession ends, the remains go to the cemetery's ossuary."""
    plot = reprise.plot
    if reprise.concession is not None and reprise.concession.status == "active":
        reprise.concession.status, reprise.concession.closed_on = "taken_back", on
    ossuary = db.session.scalar(select(Plot).join(Alley).join(Zone).where(
        Zone.cemetery_id == plot.alley.zone.cemetery_id, Plot.kind == "ossuary").limit(1))
    for body in list(db.session.scalars(select(Deceased).where(Deceased.plot_id == plot.id))):
        db.session.add(Operation(kind="exhumation", plot=plot, deceased=body, destination_plot=ossuary,
                                 destination="" if ossuary else _("ossuary"), on=on,
                                 authorisation_number=_("reprise n° %(n)s", n=reprise.id),
                                 commune_insee=plot.commune_insee))
        body.plot, body.where_now = ossuary, "" if ossuary else _("ossuary")
    reprise.status, reprise.closed_on = "done", on
    plot.in_reprise = False
    db.session.flush()
    audit.record("cemetery.reprise_done", target=reprise, plot=plot.label, on=_iso(on))


def _stop_reprises(plot: Plot, on: dt.date, why: str) -> None:
    for reprise in db.session.scalars(select(Reprise).where(Reprise.plot_id == plot.id, Reprise.status == "open")):
        reprise.status, reprise.closed_on, reprise.notes = "stopped", on, why
        audit.record("cemetery.reprise_stopped", target=reprise, plot=plot.label, reason=why)
    plot.in_reprise = False
    db.session.flush()


def stop_reprise(reprise: Reprise, on: dt.date, reason: str) -> None:
    """The family restored the grave (or renewed): the procedure stops."""
    if reprise.status != "open":
        raise Refused(_("This procedure is closed."))
    if not reason.strip():
        raise Refused(_("Say why the procedure stops."))
    _stop_reprises(reprise.plot, on, reason.strip())


def set_preference(commune_insee: str, *, public_search: bool, public_dates: bool) -> Preference:
    pref = db.session.scalar(select(Preference)) or Preference(commune_insee=commune_insee)
    pref.public_search, pref.public_dates = public_search, public_dates
    db.session.add(pref)
    db.session.flush()
    audit.record("cemetery.preference_changed", target=pref, public_search=public_search, public_dates=public_dates)
    return pref


def step_label(code: str) -> str:
    from .schemas import STEP_LABELS

    return str(STEP_LABELS.get(code, code))
