"""Land registry — consult parcels on a map, search by reference, address or owner, print parcel sheets.

Package layout: ``models`` (tables), ``geometry`` (storage on PostGIS and SQLite + R*Tree), ``readers`` (Etalab
GeoJSON, EDIGEO, any OGR file into layers), ``vintages`` (the label of a new vintage, what changed), ``importer``
(one commune's plan as one vintage, all-or-nothing), ``owners`` / ``addresses`` (CSV imports and reads, text decoded
by ``textfile``), ``spatial`` (bbox / point / tile queries on both backends), ``tilecache`` (tiles per vintage),
``access`` (lookups and the purpose rule), ``queries`` (reads shared by the pages), ``demo`` (the fictitious demo
plan), ``pdf``, ``jobs`` / ``tasks`` (imports of the department's page), ``views/`` (pages, owners, map and tiles,
department page, API), ``openapi``, ``cli``.
"""
import datetime as _dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .cli import cli
from .openapi import OPENAPI
from .views import api_bp, bp, department_bp

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
    audit_labels={
        "cadastre.import": _l("Land registry: plan imported"),
        "cadastre.import.requested": _l("Land registry: import started"),
        "cadastre.import.failed": _l("Land registry: import refused"),
        "cadastre.owners.import": _l("Land registry: owners imported"),
        "cadastre.addresses.import": _l("Land registry: addresses imported"),
        "cadastre.owners.read": _l("Land registry: owners read"),
        "cadastre.owners.search": _l("Land registry: search by owner"),
        "cadastre.owners.statement": _l("Land registry: owner statement"),
    },
    audit_detail_labels={
        "context": _l("context"), "layout": _l("file layout"), "parcels": _l("parcels"),
        "query": _l("search"), "replaced": _l("replaced"), "vintage": _l("vintage"),
    },
    settings=(
        Setting("CADASTRE_IMPORT_DIR", "", "folder of the uploads waiting for their import (default "
                "instance/cadastre-imports); shared with the workers when there are several hosts"),
        Setting("CADASTRE_IMPORT_INLINE_MB", 20.0, "up to this size an upload is imported in the request, larger "
                "ones by the Celery task"),
        Setting("CADASTRE_TILE_CACHE_MB", 64.0, "memory each web process keeps for map tiles (tilecache.py); 0 keeps "
                "none, every tile is computed"),
    ),
    openapi=OPENAPI,
)
