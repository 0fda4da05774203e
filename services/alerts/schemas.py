"""What the service accepts and answers, defined once: e-mail addresses and mobile numbers (forms, API, sending),
and the JSON Schemas of the API — the same dicts are published in the OpenAPI document and used to validate the
requests, so the document and the validation cannot disagree.
"""
from __future__ import annotations

import email_validator
import jsonschema
from flask_babel import gettext as _

from . import sms as smsmod
from portal.settings import setting

# Metropolitan France and the overseas départements (Guadeloupe, Martinique, Guyane, La Réunion, Mayotte):
# phonenumbers region codes. ALERTS_SMS_COUNTRIES replaces the list ("FR,GP,MQ,GF,RE,YT,BE").
DEFAULT_SMS_COUNTRIES = ("FR", "GP", "MQ", "GF", "RE", "YT")


class InvalidAddress(ValueError):
    """An address or number the service refuses; ``str(exc)`` is the French message for the person."""


def email_address(raw: str) -> str:
    """The e-mail address in its normalised form, checked for syntax only (no DNS: the portal may have no network).
    Refuses anything a mail header cannot carry (line breaks, several addresses)."""
    try:
        return email_validator.validate_email((raw or "").strip(), check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(_("This e-mail address is not valid.")) from exc


def sms_countries() -> tuple[str, ...]:
    raw = setting("ALERTS_SMS_COUNTRIES") or ",".join(DEFAULT_SMS_COUNTRIES)
    return tuple(c.strip().upper() for c in str(raw).split(",") if c.strip())


def mobile_number(raw: str) -> str:
    """The mobile number in E.164, from one of the countries the department pays SMS for."""
    try:
        return smsmod.normalize_mobile(raw, countries=sms_countries())
    except smsmod.InvalidPhone as exc:
        if str(exc) == "not_mobile":
            raise InvalidAddress(_("This is not a mobile number: SMS can only reach a mobile phone.")) from exc
        if str(exc) == "foreign":
            raise InvalidAddress(_("SMS are only sent to mobile numbers of France (metropolitan France and the "
                                   "overseas départements). Give an e-mail address instead.")) from exc
        raise InvalidAddress(_("This phone number is not valid.")) from exc


# JSON API ------------------------------------------------------------------------------------------------------------

LIMIT_PARAMETER = {"name": "limit", "in": "query", "required": False,
                   "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
ALERT_ID_PARAMETER = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "integer"}}
SEGMENTS_REQUEST = {"type": "object", "required": ["text"], "additionalProperties": False,
                    "properties": {"text": {"type": "string", "maxLength": 10000}}}

_CHANNEL_STATS = {"type": "object", "required": ["total", "delivered", "failed", "pending", "sent", "cancelled",
                                                 "percent"],
                  "properties": {k: {"type": "integer", "minimum": 0} for k in
                                 ("total", "delivered", "failed", "pending", "sent", "cancelled", "percent")}}
ALERT_SCHEMA = {
    "type": "object", "required": ["id", "kind", "title", "severity", "status", "channels"],
    "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["broadcast", "individual"]},
        "title": {"type": "string"}, "severity": {"type": "string", "enum": ["info", "minor", "moderate", "severe",
                                                                             "extreme"]},
        "status": {"type": "string", "enum": ["scheduled", "queued", "cancelled"]},
        "channels": {"type": "array", "items": {"type": "string", "enum": ["email", "sms"]}},
        "list_ids": {"type": "array", "items": {"type": "integer"}},
        "zone": {"type": ["string", "null"], "enum": ["Polygon", "streets", None],
                 "description": "the alert went to a drawn zone or to streets only"},
        "sms_segments": {"type": "integer", "description": "segments of one SMS of this alert"},
        "msg_type": {"type": "string", "enum": ["alert", "update", "cancel"],
                     "description": "CAP msgType: a new alert, an update of an earlier one, its end"},
        "references": {"type": ["integer", "null"], "description": "id of the earlier alert (update, cancel)"},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "scheduled_at": {"type": ["string", "null"], "format": "date-time"},
        "sent_at": {"type": ["string", "null"], "format": "date-time"}}}
STATS_SCHEMA = {
    "type": "object", "required": ["id", "status", "channels", "failures"],
    "properties": {
        "id": {"type": "integer"}, "status": {"type": "string"},
        "channels": {"type": "object", "properties": {"email": _CHANNEL_STATS, "sms": _CHANNEL_STATS},
                     "additionalProperties": False},
        "failures": {"type": "array", "items": {"type": "object", "required": ["channel", "reason", "count"],
                                                "properties": {"channel": {"type": "string"},
                                                               "reason": {"type": "string"},
                                                               "label": {"type": "string"},
                                                               "count": {"type": "integer"}}}}}}
MAP_SCHEMA = {
    "type": "object", "required": ["commune", "boundary", "points"],
    "properties": {
        "commune": {"type": "string", "pattern": "^[0-9AB]{5}$"},
        "boundary": {"type": ["object", "null"], "description": "GeoJSON geometry of the commune (WGS84)"},
        "points": {"type": "array", "items": {
            "type": "object", "required": ["lat", "lon", "lists"], "additionalProperties": False,
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"},
                           "lists": {"type": "array", "items": {"type": "integer"}}}}}}}
SEGMENTS_SCHEMA = {
    "type": "object", "required": ["encoding", "units", "segments", "per_segment", "non_gsm"],
    "properties": {"encoding": {"type": "string", "enum": ["GSM-7", "UCS-2"]},
                   "units": {"type": "integer"}, "segments": {"type": "integer"},
                   "per_segment": {"type": "integer"},
                   "non_gsm": {"type": "array", "items": {"type": "string"}}}}
ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


_ERRORS = {"401": {"description": "not signed in, no token"},
           "403": {"description": "the service is not open to the active collectivity, or it is not a commune"}}
_BAD_REQUEST = {"400": {"description": "the request does not follow this document (French message)",
                        **_json(ERROR_SCHEMA)}}

_ALERTS_GET = {
    "summary": "Alerts and individual messages of the active commune, newest first (no recipient)",
    "tags": ["alerts"], "parameters": [LIMIT_PARAMETER],
    "responses": {"200": {"description": "alerts", **_json({"type": "object", "required": ["alerts"],
                                                           "properties": {"alerts": {"type": "array",
                                                                                     "items": ALERT_SCHEMA}}})},
                  **_BAD_REQUEST, **_ERRORS}}
_DELIVERY_GET = {
    "summary": "Delivery follow-up of one alert: delivered / failed / pending per channel, failures by reason",
    "tags": ["alerts"], "parameters": [ALERT_ID_PARAMETER],
    "responses": {"200": {"description": "counts per channel", **_json(STATS_SCHEMA)},
                  "404": {"description": "no such alert in your commune"}, **_ERRORS}}
_MAP_GET = {
    "summary": "The commune's boundary and its geocoded subscribers as bare points with their lists (for the zone "
               "map; no name, no address)",
    "tags": ["alerts"],
    "responses": {"200": {"description": "boundary and points", **_json(MAP_SCHEMA)}, **_ERRORS}}


def _deprecated(op: dict, new_path: str) -> dict:
    return {**op, "deprecated": True, "summary": f"Former French path of {new_path} (kept for existing clients)"}


OPENAPI_PATHS = {
    "/alerts/alerts": {"get": _ALERTS_GET},
    "/alerts/alerts/{alert_id}/delivery": {"get": _DELIVERY_GET},
    "/alerts/map": {"get": _MAP_GET},
    "/alerts/segments": {"post": {
        "summary": "Count the SMS segments of a text (GSM 03.38 7-bit or UCS-2)",
        "tags": ["alerts"],
        "requestBody": {"required": True, **_json(SEGMENTS_REQUEST)},
        "responses": {"200": {"description": "encoding, units, segments", **_json(SEGMENTS_SCHEMA)},
                      "400": {"description": "no JSON body, a body of another shape, or a browser session without "
                                             "its CSRF token (X-CSRFToken)", **_json(ERROR_SCHEMA)}, **_ERRORS}}},
    # Aliases: the paths of the first version of the API, in French.
    "/alerts/alertes": {"get": _deprecated(_ALERTS_GET, "/alerts/alerts")},
    "/alerts/alertes/{alert_id}/suivi": {"get": _deprecated(_DELIVERY_GET, "/alerts/alerts/{alert_id}/delivery")},
    "/alerts/carte": {"get": _deprecated(_MAP_GET, "/alerts/map")},
}


# Validation of requests against the schemas above ---------------------------------------------------------------------

class BadRequest(ValueError):
    """``str(exc)``: French message for the caller; ``reason``: English, for the log."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def _rule(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        return _("a field is missing: %(fields)s", fields=", ".join(error.validator_value))
    if error.validator == "type":
        kind = error.validator_value
        return {"integer": _("a whole number is expected"), "string": _("a text is expected"),
                "object": _("a JSON object is expected")}.get(kind, _("the value has the wrong type"))
    if error.validator in ("minimum", "maximum"):
        return _("a number between %(min)s and %(max)s is expected", min=schema.get("minimum", "…"),
                 max=schema.get("maximum", "…"))
    if error.validator == "maxLength":
        return _("at most %(n)s characters", n=error.validator_value)
    if error.validator == "additionalProperties":
        return _("unknown field")
    return _("the value is not accepted")


def _check(value, schema: dict, where: str) -> None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        field = ".".join(str(p) for p in error.absolute_path) or where
        raise BadRequest(_("Invalid request: « %(field)s » — %(rule)s.", field=field, rule=_rule(error)),
                         f"{where}: {error.message}")


def query_args(parameters: list[dict], args) -> dict:
    """The query parameters of an operation, converted and checked against their declared schemas (defaults
    applied). ``args``: the request's query string (a MultiDict)."""
    out = {}
    for param in parameters:
        if param["in"] != "query":
            continue
        name, schema = param["name"], param["schema"]
        raw = args.get(name)
        if raw is None:
            if param.get("required"):
                raise BadRequest(_("Invalid request: « %(field)s » is missing.", field=name), f"{name} missing")
            if "default" in schema:
                out[name] = schema["default"]
            continue
        value = raw
        if schema.get("type") == "integer":
            try:
                value = int(raw.strip())
            except ValueError:
                value = raw
        _check(value, schema, name)
        out[name] = value
    return out


def json_body(schema: dict, body) -> dict:
    """The JSON body of a request, checked against its declared schema; ``body`` is None when there is none."""
    if body is None:
        raise BadRequest(_("Invalid request: a JSON body is expected."), "no JSON body")
    _check(body, schema, "body")
    return body
