"""The French words of the service's codes, the checks of what the forms and the API send, and the service's part of
the OpenAPI document."""
from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l

PLOT_KIND_LABELS = {
    "concession": _l("Concession"), "common_ground": _l("Terrain commun"), "columbarium": _l("Columbarium case"),
    "cavurne": _l("Cavurne"), "enfeu": _l("Enfeu"), "ossuary": _l("Ossuary"), "garden": _l("Jardin du souvenir"),
}
CONCESSION_KIND_LABELS = {"temporary": _l("Temporary"), "thirty": _l("Thirty years"), "fifty": _l("Fifty years"),
                          "perpetual": _l("Perpetual")}
SCOPE_LABELS = {"individual": _l("Individual"), "collective": _l("Collective"), "family": _l("Family")}
STATUS_LABELS = {"active": _l("In force"), "renewed": _l("Renewed"), "converted": _l("Converted"),
                 "retroceded": _l("Given back"), "taken_back": _l("Taken back by the commune")}
STATE_LABELS = {"free": _l("Free"), "occupied": _l("Occupied"), "expiring": _l("Expiring"), "expired": _l("Expired"),
                "reprise": _l("Being taken back")}
STATE_COLOURS = {"free": "#18753c", "occupied": "#000091", "expiring": "#b34000", "expired": "#ce0500",
                 "reprise": "#6e445a"}
BODY_LABELS = {"coffin": _l("Coffin"), "urn": _l("Urn"), "reduction": _l("Reduction")}
OPERATION_LABELS = {"inhumation": _l("Inhumation"), "exhumation": _l("Exhumation"), "reduction": _l("Reduction of body"),
                    "reunion": _l("Reunion of bodies"), "urn_deposit": _l("Deposit of an urn"),
                    "scattering": _l("Scattering of ashes")}
ROLE_LABELS = {"holder": _l("Holder"), "beneficiary": _l("Ayant droit")}
REPRISE_LABELS = {"abandonment": _l("Concession in a state of abandonment"),
                  "expired": _l("Expired concession not renewed"), "common_ground": _l("Grave of the terrain commun")}
REPRISE_STATUS_LABELS = {"open": _l("Under way"), "done": _l("Done"), "stopped": _l("Stopped")}
STEP_LABELS = {
    "notice": _l("Notice to the families and posting"),
    "first_pv": _l("First procès-verbal of abandonment"),
    "pv_notification": _l("Notification of the procès-verbal to the families"),
    "posting_1": _l("First posting of the procès-verbal"),
    "posting_2": _l("Second posting"),
    "posting_3": _l("Third posting"),
    "second_pv": _l("Second procès-verbal"),
    "second_pv_notification": _l("Notification of the second procès-verbal"),
    "deliberation": _l("Délibération of the conseil municipal"),
    "arrete": _l("Mayor's arrêté of reprise"),
    "removal": _l("Remains to the ossuary, monuments removed"),
    "renewal_information": _l("Holders told of their right to renew"),
}

OPERATION_KINDS_FORM = ("inhumation", "urn_deposit", "scattering", "exhumation", "reduction", "reunion")


def parse_date(value, label, errors: list, required: bool = True) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        if required:
            errors.append(_l("Give the date: %(what)s.", what=label))
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    errors.append(_l("The date « %(v)s » is not a date (jj/mm/aaaa): %(what)s.", v=value[:20], what=label))
    return None


def parse_int(value, label, errors: list, required: bool = False) -> int | None:
    value = (str(value) if value is not None else "").strip()
    if not value:
        if required:
            errors.append(_l("Give a number: %(what)s.", what=label))
        return None
    try:
        return int(value)
    except ValueError:
        errors.append(_l("« %(v)s » is not a whole number: %(what)s.", v=value[:20], what=label))
        return None


def parse_money(value, label, errors: list) -> float | None:
    value = (str(value) if value is not None else "").strip().replace("\u00a0", "").replace(" ", "").replace("€", "")
    if not value:
        return None
    try:
        amount = round(float(value.replace(",", ".")), 2)
    except ValueError:
        errors.append(_l("« %(v)s » is not an amount: %(what)s.", v=value[:20], what=label))
        return None
    if amount < 0:
        errors.append(_l("The amount cannot be negative: %(what)s.", what=label))
    return amount


def parse_places(value, label, errors: list) -> int | None:
    """Places as the secretary types them (``2``, ``0,4``) → tenths."""
    value = (str(value) if value is not None else "").strip().replace(",", ".")
    if not value:
        return None
    try:
        tenths = round(float(value) * 10)
    except ValueError:
        errors.append(_l("« %(v)s » is not a number of places: %(what)s.", v=value[:20], what=label))
        return None
    if tenths <= 0 or tenths > 1000:
        errors.append(_l("A number of places between 0,1 and 100: %(what)s.", what=label))
        return None
    return tenths


def person_values(form, prefix: str = "") -> dict:
    keys = {"last_name": "last_name", "first_names": "first_names", "relationship_": "relationship",
            "address": "address", "postcode": "postcode", "city": "city", "phone": "phone", "email": "email"}
    return {k: " ".join(str(form.get(prefix + f) or "").split())[:300] for k, f in keys.items()}


PLOT = {"type": "object", "properties": {
    "id": {"type": "integer", "description": "the emplacement"}, "label": {"type": "string"},
    "cemetery": {"type": "string"}, "name": {"type": "string"},
    "as": {"type": "string", "enum": ["deceased", "holder", "beneficiary"]}, "years": {"type": "string"}}}

OPENAPI = {
    "paths": {
        "/cemetery/plan.geojson": {"get": {
            "summary": "The plan of the commune's cemeteries: zones, allées and emplacements with their state",
            "responses": {"200": {"description": "GeoJSON FeatureCollection", "content": {
                "application/geo+json": {"schema": {"type": "object"}}}}}}},
        "/cemetery/search": {"get": {
            "summary": "Emplacements by the name of a deceased or a holder (accents and capitals ignored), 25 a page "
                       "in the order of the names",
            "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                           {"name": "page", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "default": 1}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "array", "items": {"$ref": "#/components/schemas/CemeteryPlot"}}}}}}}},
        "/cemetery/deadlines": {"get": {
            "summary": "Concessions expiring within 6 months, expired ones still renewable, reprise steps due",
            "responses": {"200": {"description": "OK"}}}},
    },
    "schemas": {"CemeteryPlot": PLOT},
}
