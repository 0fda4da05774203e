"""What the tenders forms and the JSON API accept, defined once.

- Parsers of typed values (amounts « 85 000,50 € », dates, whole numbers) shared by the wizard, the award form and
  the public filters.
- The award form (:func:`award_form`): the values of one lot's award, or French messages per field.
- The API's query parameters (:data:`PROCEDURE_PARAMETERS`): published as they are in the OpenAPI document, and
  checked by :func:`check_query` with the same JSON Schema, so what the document allows is exactly what the API takes.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

import jsonschema
from flask_babel import gettext as _

from portal.identity import today as local_today
from . import rules
from .models import STATUSES

SIRET_RE = re.compile(r"^[0-9]{14}$")
PRICE_FORMS = ("Forfaitaire", "Unitaire", "Mixte")


def parse_amount(raw: str) -> Decimal | None:
    raw = (raw or "").replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace("€", "").replace(",", ".")
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(raw) from exc


def parse_int(raw: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw)


def parse_date(raw: str) -> dt.date | None:
    raw = (raw or "").strip()
    return dt.date.fromisoformat(raw) if raw else None


def parse_datetime(raw: str) -> dt.datetime | None:
    raw = (raw or "").strip()
    return dt.datetime.fromisoformat(raw) if raw else None


# The award of one lot ----------------------------------------------------------------------------------------------

def award_form(form, lot_numbers: set[int]) -> tuple[dict, dict]:
    """(values, errors) of the award form: values has lot, holder_name, holder_siret, amount_ht, notified_on,
    offers_received, price_form; errors maps a field to its French message."""
    errors: dict[str, str] = {}
    try:
        lot = int(form.get("lot", "1"))
    except ValueError:
        lot = 0
    if lot not in lot_numbers:
        errors["lot"] = _("Choose the lot.")
    name = form.get("holder_name", "").strip()[:300]
    siret = re.sub(r"\s", "", form.get("holder_siret", ""))
    if not name:
        errors["holder_name"] = _("Enter the name of the company.")
    if not SIRET_RE.match(siret):
        errors["holder_siret"] = _("The SIRET number has 14 digits.")
    try:
        amount = parse_amount(form.get("amount_ht", ""))
        if amount is None or amount <= 0 or amount >= rules.MAX_AMOUNT:
            raise InvalidOperation
    except (ValueError, InvalidOperation):
        errors["amount_ht"] = _("Enter the amount of the contract excluding tax.")
        amount = None
    try:
        notified = parse_date(form.get("notified_on", ""))
        if notified is None:
            raise ValueError
        if notified > local_today():
            errors["notified_on"] = _("The notification date cannot be in the future.")
    except ValueError:
        errors["notified_on"] = _("Enter the date of notification.")
        notified = None
    try:
        offers = int(form.get("offers_received", ""))
        if offers < 1:
            raise ValueError
    except ValueError:
        errors["offers_received"] = _("Enter the number of bids received (at least 1).")
        offers = None
    price_form = form.get("price_form", "Forfaitaire")
    if price_form not in PRICE_FORMS:
        errors["price_form"] = _("Choose the form of the price.")
    values = {"lot": lot, "holder_name": name, "holder_siret": siret,
              "amount_ht": amount.quantize(Decimal("0.01")) if amount is not None else None,
              "notified_on": notified, "offers_received": offers, "price_form": price_form}
    return values, errors


# API query parameters ----------------------------------------------------------------------------------------------

PROCEDURE_PARAMETERS = [
    {"name": "nature", "in": "query", "required": True, "schema": {"type": "string", "enum": list(rules.NATURES)}},
    {"name": "amount", "in": "query", "required": True,
     "schema": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": int(rules.MAX_AMOUNT)},
     "description": "estimated amount HT over the whole duration, renewals included (euros, more than 0)"},
    {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"},
     "description": "launch date of the consultation (default: today)"},
]


class QueryError(ValueError):
    """A query parameter that the published schema refuses (message in English, for API clients)."""


def _coerce(raw: str, schema: dict):
    kind = schema.get("type")
    try:
        if kind == "number":
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return value
        if kind == "integer":
            return int(raw)
    except ValueError:
        return raw  # left as a string: the schema says what is wrong with it
    return raw


def check_query(parameters: list[dict], args) -> dict:
    """The query arguments ``args`` checked against OpenAPI ``parameters``; the typed values, or QueryError."""
    values = {p["name"]: _coerce(args[p["name"]], p["schema"]) for p in parameters if p["name"] in args}
    schema = {"type": "object", "properties": {p["name"]: p["schema"] for p in parameters},
              "required": [p["name"] for p in parameters if p.get("required")]}
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).iter_errors(values))
    if error is not None:
        where = error.path[0] if error.path else "query"
        raise QueryError(f"{where}: {error.message}")
    return values


# The API's part of /api/v1/openapi.json, declared in the descriptor -------------------------------------------

def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


_TENDER = {"type": "object", "properties": {
    "id": {"type": "integer"}, "reference": {"type": "string"},
    "status": {"type": "string", "enum": list(STATUSES)}, "title": {"type": "string"},
    "nature": {"type": ["string", "null"], "enum": [*rules.NATURES, None]},
    "amount_ht": {"type": ["number", "null"]}, "procedure": {"type": ["string", "null"]}}}
_TENDER_REF = {"$ref": "#/components/schemas/Tender"}

OPENAPI_PATHS = {
    "/tenders/": {"get": {"summary": "Consultations of the active collectivity", "tags": ["tenders"],
                          "responses": {"200": {"description": "consultations", **_json(
                              {"type": "object", "properties": {"tenders": {"type": "array",
                                                                            "items": _TENDER_REF}}})}}}},
    "/tenders/{tender_id}": {"get": {
        "summary": "One consultation of the active collectivity, with its lots, criteria and what blocks publication",
        "tags": ["tenders"],
        "parameters": [{"name": "tender_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "the consultation", **_json(_TENDER_REF)},
                      "404": {"description": "no such consultation in your collectivity"}}}},
    "/tenders/procedure": {"get": {
        "summary": "The procedure the Code de la commande publique requires (rules engine, dated thresholds)",
        "tags": ["tenders"],
        "parameters": PROCEDURE_PARAMETERS,
        "responses": {"200": {"description": "procedure, publicity, reasons with articles, thresholds applied"},
                      "400": {"description": "a parameter outside its schema (English message) or refused by the "
                                             "rules engine (French message)"}}}},
}

OPENAPI = {"paths": OPENAPI_PATHS, "schemas": {"Tender": _TENDER}}
