"""Land registry — Consult parcels on a map, search by reference, print parcel sheets (issue #3).

Package layout: ``models`` (tables), ``geometry`` (storage on PostGIS and SQLite + R*Tree), ``importer`` (Etalab
GeoJSON, EDIGEO, any OGR file; vintages and report), ``spatial`` (bbox / point / tile queries on both backends),
``views`` (pages, map document, vector tiles), ``api`` (JSON API), ``cli`` (``flask cadastre …``).
"""
from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor

from .api import api_bp
from .cli import cli
from .views import bp

service = ServiceDescriptor(
    slug="cadastre",
    name=_l("Land registry"),
    description=_l("Consult parcels on a map, search by reference, address or owner, print parcel sheets."),
    icon="map",
    blueprint=bp,
    api_blueprint=api_bp,
    index_endpoint="cadastre.index",
    access_permission="cadastre.read",
    permissions={
        "cadastre.read": ("mayor", "secretary", "elected"),
        "cadastre.owners.read": ("mayor",),
    },
    permission_labels={"cadastre.owners.read": _l("Land registry: read owners")},
    grantable=("cadastre.owners.read",),
    nav=[NavEntry(_l("Map"), "cadastre.index"), NavEntry(_l("Search"), "cadastre.search")],
    cli=cli,
    models=("services.cadastre.models",),
)
