"""What a note is, checked once for the form and the JSON API, and the service's part of the OpenAPI document."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

TITLE_MAX = 200


def clean_note(data) -> tuple[dict, list]:
    """``(values, French errors)`` of a note sent by the form or the API."""
    title = " ".join(str(data.get("title") or "").split())
    errors = []
    if not title:
        errors.append(_l("Give the note a title."))
    elif len(title) > TITLE_MAX:
        errors.append(_l("The title is too long (%(n)s characters at most).", n=TITLE_MAX))
    return {"title": title}, errors


NOTE = {"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
        "required": ["id", "title"]}

OPENAPI = {
    "paths": {
        "/template/notes": {
            "get": {"summary": "Notes of the active commune", "responses": {"200": {
                "description": "OK", "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/TemplateNote"}}}}}}},
            "post": {"summary": "Write a note", "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"title": {"type": "string"}}}}}},
                "responses": {"201": {"description": "Created", "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/TemplateNote"}}}}, "400": {"description": "Invalid note"}}},
        },
    },
    "schemas": {"TemplateNote": NOTE},
}
