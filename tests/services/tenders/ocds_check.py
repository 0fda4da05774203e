"""Validation of an OCDS release package as a reuser would do it: the package's fields, the extensions it declares,
and each release against the core release schema patched with those extensions (JSON Merge Patch, written here
apart from the service's own code)."""
from __future__ import annotations

import json

import jsonschema

from .test_documents_public_award import DATA

LOTS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"


def _patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        out[k] = _patch(out.get(k), v)
    return out


def release_schema_with_lots() -> dict:
    core = json.loads((DATA / "ocds-release-schema.json").read_text(encoding="utf-8"))
    lots = json.loads((DATA / "ocds-lots-extension-release-schema.json").read_text(encoding="utf-8"))
    return _patch(core, lots)


def valid_release(package: dict) -> dict:
    """The single release of a valid package (AssertionError / ValidationError otherwise)."""
    package_schema = json.loads((DATA / "ocds-release-package-schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(package_schema, format_checker=jsonschema.FormatChecker()).validate(package)
    assert package["version"] == "1.1" and package["uri"].startswith("http")
    [release] = package["releases"]
    if release["tender"].get("lots") or any("relatedLots" in a for a in release.get("awards", [])):
        assert LOTS_EXTENSION in package.get("extensions", [])
    jsonschema.Draft4Validator(release_schema_with_lots(), format_checker=jsonschema.FormatChecker()).validate(release)
    return release
