"""The directory of the collectivities (« annuaire »): what each mairie (or EPCI) declares about itself — address,
opening hours, phone, e-mail, website, elected officials — and which of it residents may read.

Every change is made by the collectivity itself (the mayor or the secretary) and audited in its journal; members of
the portal read every entry, residents only the published fields (``DirectoryEntry.publish_*``) and the published
officials. The public page of a commune (``public_blocks``) adds the residents' pages of the services it uses.
"""
from __future__ import annotations

import json

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal import audit
from portal.extensions import db
from portal.maps import map_config
from portal.models import KIND_COMMUNE, KIND_EPCI, Collectivity, User, fold
from portal.registry import is_subscribed

from .models_public import PERSON_ROLES, DirectoryEntry, DirectoryPerson
from .operations import DeskError

ENTRY_FIELDS = ("address", "opening_hours", "phone", "email", "website", "latitude", "longitude",
                "publish_address", "publish_hours", "publish_phone", "publish_email", "publish_website")


def entry_of(collectivity: Collectivity) -> DirectoryEntry | None:
    return db.session.get(DirectoryEntry, collectivity.id)


def people_of(collectivity: Collectivity, *, published_only: bool = False) -> list[DirectoryPerson]:
    stmt = select(DirectoryPerson).where(DirectoryPerson.collectivity_id == collectivity.id)
    if published_only:
        stmt = stmt.where(DirectoryPerson.published.is_(True))
    people = db.session.scalars(stmt).all()
    order = {r: i for i, r in enumerate(PERSON_ROLES)}
    return sorted(people, key=lambda p: (order.get(p.role, 99), p.position, p.id))


def save_entry(collectivity: Collectivity, *, by: User, **fields) -> DirectoryEntry:
    """Write the entry (created on first save); audited with the names of the fields that changed."""
    entry = entry_of(collectivity)
    if entry is None:
        entry = DirectoryEntry(collectivity_id=collectivity.id)
        db.session.add(entry)
    changed = []
    for name in ENTRY_FIELDS:
        value = fields.get(name)
        if isinstance(value, str):
            value = value.strip()
        elif name.startswith("publish_"):
            value = bool(value)
        if getattr(entry, name) != value:
            setattr(entry, name, value)
            changed.append(name)
    if (entry.latitude is None) != (entry.longitude is None):
        raise DeskError(_("Give both the latitude and the longitude of the mairie, or neither."))
    entry.updated_by_id = by.id
    db.session.flush()
    if changed:
        audit.record("desk.directory_edited", target=collectivity, collectivity=collectivity, user=by,
                     fields=", ".join(changed))
    return entry


def add_person(collectivity: Collectivity, *, by: User, name: str, role: str, delegation: str = "",
               published: bool = False) -> DirectoryPerson:
    name = (name or "").strip()
    if not name:
        raise DeskError(_("Give the name."))
    if role not in PERSON_ROLES:
        raise DeskError(_("Choose the office."))
    position = db.session.scalar(select(func.count()).select_from(DirectoryPerson)
                                 .where(DirectoryPerson.collectivity_id == collectivity.id)) or 0
    person = DirectoryPerson(collectivity_id=collectivity.id, name=name[:200], role=role,
                             delegation=(delegation or "").strip()[:200], published=bool(published),
                             position=position)
    db.session.add(person)
    db.session.flush()
    audit.record("desk.directory_person_added", target=person, collectivity=collectivity, user=by, name=person.name,
                 role=role, published=person.published)
    return person


def remove_person(person: DirectoryPerson, *, by: User, collectivity: Collectivity) -> None:
    audit.record("desk.directory_person_removed", target=person, collectivity=collectivity, user=by,
                 name=person.name, role=person.role)
    db.session.delete(person)
    db.session.flush()


def set_published(person: DirectoryPerson, published: bool, *, by: User, collectivity: Collectivity) -> None:
    if person.published != published:
        person.published = published
        audit.record("desk.directory_person_changed", target=person, collectivity=collectivity, user=by,
                     name=person.name, published=published)
        db.session.flush()


def search(query: str, limit: int = 100) -> list[Collectivity]:
    """Communes and EPCI whose name, INSEE code or postal code matches (accents and case ignored); without a query,
    all of them (a department has a few hundred), EPCI first."""
    stmt = select(Collectivity).where(Collectivity.kind.in_((KIND_COMMUNE, KIND_EPCI)))
    query = (query or "").strip()
    if query:
        folded = fold(query)
        stmt = stmt.where(or_(Collectivity.search_name.contains(folded, autoescape=True),
                              Collectivity.insee == query, Collectivity.siren == query,
                              Collectivity.postal_codes.contains(query, autoescape=True)))
    else:
        limit = 2000
    return db.session.scalars(stmt.order_by(Collectivity.kind.desc(), Collectivity.search_name).limit(limit)).all()


def by_code(code: str) -> Collectivity | None:
    """A commune by INSEE code or an EPCI by SIREN (the public page's address)."""
    return db.session.scalar(select(Collectivity).where(or_(
        (Collectivity.kind == KIND_COMMUNE) & (Collectivity.insee == code),
        (Collectivity.kind == KIND_EPCI) & (Collectivity.siren == code))))


def map_of(collectivity: Collectivity, entry: DirectoryEntry | None, *, public: bool) -> dict | None:
    """The shared map builder's configuration: the outline of the collectivity (its members' for an EPCI) and the
    mairie's point; None when there is nothing to draw."""
    outlines, points, lats, lons = [], [], [], []
    shapes = [collectivity] if collectivity.kind == KIND_COMMUNE else list(collectivity.members)
    for coll in shapes:
        geojson = db.session.scalar(select(Collectivity.boundary_geojson).where(Collectivity.id == coll.id))
        if geojson:
            shape = json.loads(geojson)
            outlines.append({"geojson": shape, "style": {"color": "#000091", "weight": 2, "fillOpacity": 0.05}})
            _extent(shape, lats, lons)
    if entry is not None and entry.latitude is not None and (not public or entry.publish_address):
        points.append({"lat": entry.latitude, "lon": entry.longitude, "label": _("Mairie"),
                       "style": {"color": "#ce0500"}})
        lats.append(entry.latitude)
        lons.append(entry.longitude)
    if not lats:
        return None
    return map_config(bounds=[[min(lats), min(lons)], [max(lats), max(lons)]], outlines=outlines, points=points)


def _extent(shape, lats, lons) -> None:
    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            lons.append(coords[0])
            lats.append(coords[1])
        else:
            for c in coords:
                walk(c)
    geometry = shape.get("geometry", shape)
    if geometry.get("type") == "FeatureCollection":
        for f in geometry.get("features", []):
            _extent(f, lats, lons)
    else:
        walk(geometry.get("coordinates", []))


def public_blocks(collectivity: Collectivity) -> list[dict]:
    """The residents' pages of the services this commune uses, each only when it uses the service and the service's
    public page is deployed: published acts, alerts subscription, open tenders. (Job offers are the desk's own.)"""
    views = current_app.view_functions
    blocks = []
    if collectivity.kind != KIND_COMMUNE:
        return blocks
    if is_subscribed(collectivity, "actes") and "actes_public.index" in views:
        blocks.append({"key": "actes", "title": _("Published acts"),
                       "text": _("The deliberations and decrees of the commune, as transmitted to the prefecture."),
                       "url": url_for("actes_public.index", insee=collectivity.insee),
                       "link": _("See the published acts")})
    if is_subscribed(collectivity, "alerts") and "alerts_public.subscribe" in views:
        blocks.append({"key": "alerts", "title": _("Alerts by SMS and e-mail"),
                       "text": _("Receive the mairie's alerts: roadworks, water cuts, weather, events."),
                       "url": url_for("alerts_public.subscribe", insee=collectivity.insee),
                       "link": _("Subscribe to the alerts")})
    if is_subscribed(collectivity, "tenders") and "tenders_public.index" in views:
        blocks.append({"key": "tenders", "title": _("Public tenders"),
                       "text": _("The consultations of the commune open to companies."),
                       "url": url_for("tenders_public.index", acheteur=collectivity.id),
                       "link": _("See the open tenders")})
    return blocks
