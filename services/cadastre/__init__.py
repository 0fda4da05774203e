"""Land registry — Consult parcels on a map, search by reference, print parcel sheets (issue #3).

Package layout: ``models`` (tables), ``geometry`` (storage on PostGIS and SQLite + R*Tree), ``importer`` (Etalab
GeoJSON, EDIGEO, any OGR file; vintages and report), ``spatial`` (bbox / point / tile queries on both backends),
``views`` (pages, map document, vector tiles), ``api`` (JSON API), ``cli`` (``flask cadastre …``).
"""
from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder

import datetime as _dt

from portal.audit import register_labels

from .api import api_bp
from .cli import cli
from .department import department_bp
from .views import bp

register_labels({
    "cadastre.import": _l("Land registry: plan imported"),
    "cadastre.import.requested": _l("Land registry: import started"),
    "cadastre.import.failed": _l("Land registry: import refused"),
    "cadastre.owners.import": _l("Land registry: owners imported"),
    "cadastre.addresses.import": _l("Land registry: addresses imported"),
    "cadastre.owners.read": _l("Land registry: owners read"),
    "cadastre.owners.search": _l("Land registry: search by owner"),
    "cadastre.owners.statement": _l("Land registry: owner statement"),
})

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
        "cadastre.import": ("dept_admin",),
    },
    permission_labels={"cadastre.owners.read": _l("Land registry: read owners")},
    grantable=("cadastre.owners.read",),
    nav=[NavEntry(_l("Map"), "cadastre.index"), NavEntry(_l("Search"), "cadastre.search")],
    department_blueprint=department_bp,
    department_nav=[NavEntry(_l("Land registry imports"), "cadastre_department.imports")],
    cli=cli,
    tasks=("services.cadastre.tasks",),
    beat_schedule={"cadastre-requeue-imports": {"task": "cadastre.requeue_imports",
                                                "schedule": _dt.timedelta(minutes=5)}},
    models=("services.cadastre.models",),
    migrations=service_folder(__file__, "migrations"),
)
