"""JSON API, version 1. Authenticates with the browser session or a personal access token (Bearer).

A token carries its user's memberships, nothing more: with a token, the active collectivity is chosen per request by
the ``X-Collectivity`` header (a collectivity id among the memberships), else the first membership.
Services document their endpoints in their descriptor (``ServiceDescriptor.openapi``: paths and schemas), which
:func:`openapi_document` reads; ``register_paths`` is the older way, kept until every service declares its part.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify
from flask_login import current_user

from .registry import service_tiles

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_extra_paths: dict[str, dict] = {}


def register_paths(paths: dict[str, dict]) -> None:
    """Let a service document its API paths in the OpenAPI document (prefer ``ServiceDescriptor.openapi``)."""
    _extra_paths.update(paths)


def _declared_openapi() -> tuple[dict, dict]:
    """Paths and schemas the services declare in their descriptors; a name declared twice is an error."""
    from .registry import registry

    paths: dict[str, dict] = {}
    schemas: dict[str, dict] = {}
    for service in registry.all():
        for kind, target in (("paths", paths), ("schemas", schemas)):
            for name, value in (service.openapi or {}).get(kind, {}).items():
                if name in target:
                    raise ValueError(f"OpenAPI {kind[:-1]} {name!r} declared twice (service {service.slug!r})")
                target[name] = value
    return paths, schemas


def _collectivity_json(c) -> dict | None:
    if c is None:
        return None
    return {"id": c.id, "kind": c.kind, "name": c.name, "insee": c.insee, "siren": c.siren,
            "territory": sorted(c.territory())}


def require_api_user():
    """401 JSON for anonymous calls; used by the portal API and service API blueprints."""
    if not current_user.is_authenticated:
        return jsonify(error="Unauthorized", status=401,
                       message="Sign in or send 'Authorization: Bearer <token>'."), 401
    return None


@bp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        return jsonify(error="Unauthorized", status=401,
                       message="Sign in or send 'Authorization: Bearer <token>'."), 401
    return None


@bp.get("/me")
def me():
    user = current_user
    services = []
    if g.collectivity is not None:
        services = [t["service"].slug for t in service_tiles(g.collectivity, g.permissions)
                    if t["state"] == "subscribed"]
    return jsonify(
        user={"id": user.id, "email": user.email, "full_name": user.full_name, "locale": user.locale or "fr"},
        memberships=[{"collectivity": _collectivity_json(m.collectivity), "role": m.role,
                      "extra_permissions": list(m.extra_permissions or [])} for m in user.memberships],
        active_collectivity=_collectivity_json(g.collectivity),
        permissions=sorted(g.permissions),
        enabled_services=services,
    )


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of /api/v1: the portal's own paths written here as one literal (they are few and
    read best whole, a little over 60 lines), then each service's declared ``openapi`` part."""
    collectivity = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["commune", "epci", "department"]},
            "name": {"type": "string"}, "insee": {"type": ["string", "null"]},
            "siren": {"type": ["string", "null"]}, "territory": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id", "kind", "name"],
    }
    paths = {
        "/me": {
            "get": {
                "summary": "The signed-in user, memberships, active collectivity and its enabled services",
                "parameters": [{"name": "X-Collectivity", "in": "header", "required": False,
                                "schema": {"type": "integer"},
                                "description": "Active collectivity id when authenticating with a token"}],
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Me"}}}},
                    "401": {"description": "Not authenticated",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }
        },
        "/openapi.json": {"get": {"summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3 document"}}}},
    }
    paths.update(_extra_paths)
    declared_paths, declared_schemas = _declared_openapi()
    paths.update(declared_paths)
    document = {
        "openapi": "3.1.0",
        "info": {"title": f"{_portal_name()} — API", "version": "1.0.0",
                 "description": "JSON API of the extranet. Every answer is limited to the territory of the "
                                "active collectivity."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "Personal access token created on the profile page"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Collectivity": collectivity,
                "Error": {"type": "object", "properties": {"error": {"type": "string"},
                                                           "status": {"type": "integer"}}},
                "Me": {
                    "type": "object",
                    "properties": {
                        "user": {"type": "object", "properties": {
                            "id": {"type": "integer"}, "email": {"type": "string"},
                            "full_name": {"type": "string"}, "locale": {"type": "string"}}},
                        "memberships": {"type": "array", "items": {"type": "object", "properties": {
                            "collectivity": {"$ref": "#/components/schemas/Collectivity"},
                            "role": {"type": "string"},
                            "extra_permissions": {"type": "array", "items": {"type": "string"}}}}},
                        "active_collectivity": {"oneOf": [{"$ref": "#/components/schemas/Collectivity"},
                                                          {"type": "null"}]},
                        "permissions": {"type": "array", "items": {"type": "string"}},
                        "enabled_services": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["user", "memberships", "active_collectivity", "enabled_services"],
                },
            },
        },
    }
    document["components"]["schemas"].update(declared_schemas)
    return document


# The document itself is public (registered on the app so the authentication hook above does not apply).
def openapi_view():
    return jsonify(openapi_document())


bp.record_once(lambda state: state.app.add_url_rule("/api/v1/openapi.json", "api_openapi", openapi_view))


def _portal_name() -> str:
    from .identity import current_identity

    return current_identity().portal_name
