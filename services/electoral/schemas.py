"""The JSON API's request and response schemas, written once: the API validates requests with them and the OpenAPI
document publishes them (:data:`OPENAPI_PATHS`)."""
from __future__ import annotations


from sqlalchemy import select

from portal.identity import today as local_today
from portal.extensions import db

from . import roll
from .labels import CHOSEN_REGISTRATION_REASONS, LIST_LABELS
from .models import PollingStation, Voter

# free-text fields of a registration (strings, trimmed, 200 characters at most)
TEXT_FIELDS = ("birth_name", "usage_name", "first_names", "birth_place", "birth_department", "birth_country",
               "nationality", "street_number", "street_type", "street_name", "lieu_dit", "complement1",
               "postal_code", "city", "ine")
REQUIRED = ("birth_name", "first_names", "sex", "birth_date")

VOTER_REQUEST = {
    "type": "object", "required": list(REQUIRED),
    "properties": {
        **{name: {"type": "string", "maxLength": 200} for name in TEXT_FIELDS},
        "sex": {"type": "string", "enum": ["M", "F"]},
        "birth_date": {"type": "string", "description": "YYYY-MM-DD or DD/MM/YYYY"},
        "lists": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(LIST_LABELS)},
                  "default": ["general"]},
        "reason": {"type": "string", "enum": list(CHOSEN_REGISTRATION_REASONS), "default": "voluntary"},
        "effective_on": {"type": "string", "description": "YYYY-MM-DD or DD/MM/YYYY; today by default"},
        "bureau": {"type": "string", "description": "number of the polling station; proposed from the address "
                                                    "when absent"},
        "bureau_reason": {"type": "string", "maxLength": 200},
        "note": {"type": "string", "maxLength": 2000},
        "confirm_duplicate": {"type": "boolean"},
    },
}


def validate_voter(data: dict) -> tuple[dict, dict]:
    """→ (values for :func:`roll.register`, errors by field); see :data:`VOTER_REQUEST`."""
    errors, values = {}, {}
    for name in TEXT_FIELDS:
        value = data.get(name, "")
        if not isinstance(value, str):
            errors[name] = "must be a string"
        values[name] = str(value or "").strip()[:200]
    values["birth_name"], values["usage_name"] = values["birth_name"].upper(), values["usage_name"].upper()
    for name in ("birth_name", "first_names"):
        if not values[name]:
            errors[name] = "required"
    values["sex"] = str(data.get("sex", "")).upper()
    if values["sex"] not in ("M", "F"):
        errors["sex"] = "M or F"
    values["birth_date"] = roll.parse_date(str(data.get("birth_date", "")))
    if values["birth_date"] is None:
        errors["birth_date"] = "a real date, YYYY-MM-DD or DD/MM/YYYY"
    if not values["birth_place"] and not values["birth_country"]:
        errors["birth_place"] = "birth_place or birth_country required"
    lists = data.get("lists", ["general"])
    if not isinstance(lists, list) or not lists or any(x not in LIST_LABELS for x in lists):
        errors["lists"] = "a non-empty list of general, eu, municipal"
        lists = []
    for name in LIST_LABELS:
        values[f"on_{name}"] = name in lists
    return values, errors


def validate_registration(data: dict) -> tuple[dict, dict]:
    """The voter's fields and how they are registered: → ({"values", "reason", "effective", "bureau"}, errors)."""
    values, errors = validate_voter(data)
    reason = data.get("reason", "voluntary")
    if reason not in CHOSEN_REGISTRATION_REASONS:
        errors["reason"] = "one of " + ", ".join(CHOSEN_REGISTRATION_REASONS)
    effective = roll.parse_date(str(data.get("effective_on") or local_today().isoformat()))
    if effective is None:
        errors["effective_on"] = "a real date"
    bureau = None
    if data.get("bureau"):
        bureau = db.session.scalar(select(PollingStation).where(PollingStation.number == str(data["bureau"])))
        if bureau is None:
            errors["bureau"] = "no polling station with this number"
    return {"values": values, "reason": reason, "effective": effective, "bureau": bureau}, errors


def voter_json(v: Voter, full: bool = False) -> dict:
    """A voter as the API answers (``full``: with the place of birth, nationality and history)."""
    out = {"id": v.id, "birth_name": v.birth_name, "usage_name": v.usage_name, "first_names": v.first_names,
           "birth_date": v.birth_date.isoformat(), "sex": v.sex, "ine": v.ine, "status": v.status,
           "bureau": v.bureau.number if v.bureau else None, "lists": v.lists, "address": v.address_line,
           "town": v.town_line}
    if full:
        out["birth_place"] = v.birth_place_line
        out["nationality"] = v.nationality
        out["history"] = [{"kind": m.kind, "reason": m.reason, "effective_on": m.effective_on.isoformat(),
                           "author": m.author, "changes": m.changes, "note": m.note} for m in v.movements]
    return out


SEARCH_PARAMETERS = [{"name": n, "in": "query", "required": False, "schema": {"type": t}}
                     for n, t in (("q", "string"), ("bureau", "integer"), ("status", "string"), ("limit", "integer"),
                                  ("offset", "integer"))]

_OK = {"200": {"description": "OK"}, "403": {"description": "Not a commune, or missing permission"},
       "404": {"description": "Not found in the active commune"}}


def _path_id(name: str) -> list:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}]


OPENAPI_PATHS = {
    "/electoral/voters": {
        "post": {"summary": "Register a voter (electoral.write); duplicates first: 409",
                 "requestBody": {"content": {"application/json": {"schema": {
                     "$ref": "#/components/schemas/ElectoralVoterRequest"}}}},
                 "responses": {"201": {"description": "Registered"}, "400": {"description": "Invalid fields"},
                               "409": {"description": "Possible duplicate"},
                               "422": {"description": "Refused by a rule of the roll"}}},
        "get": {"summary": "Search the voters of the active commune (electoral.read)",
                "parameters": SEARCH_PARAMETERS, "responses": _OK}},
    "/electoral/voters/{voter_id}": {"get": {"summary": "One voter with the history of movements",
                                             "parameters": _path_id("voter_id"), "responses": _OK}},
    "/electoral/bureaux": {"get": {"summary": "Polling stations of the active commune", "responses": _OK}},
    "/electoral/elections/{election_id}/calendar": {"get": {
        "summary": "Legal calendar of an election with the articles of the Code électoral",
        "parameters": _path_id("election_id"), "responses": _OK}},
}

# the service's part of /api/v1/openapi.json, declared in the descriptor
OPENAPI = {"paths": OPENAPI_PATHS, "schemas": {"ElectoralVoterRequest": VOTER_REQUEST}}
