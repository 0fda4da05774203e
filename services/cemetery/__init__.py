"""Cemetery: the plan (cemetery → zone → allée → emplacement) drawn on a map, concessions with their holders and
ayants droit, the deceased and the operations, the deadlines (expiring concessions, renewals), the reprise
procedures guided step by step, the registers, an import from the old software, and a public search of a grave.

Data of the commune (``TerritoryScoped``, row-level security); communes only. The legal rules are in :mod:`rules`
(with the texts they apply), the writes in :mod:`operations`, the reads in :mod:`queries`, the documents in
:mod:`documents`, the import in :mod:`importer`. User's guide: ``services/cemetery/README.md``.
"""
from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .access import PERMISSIONS
from .cli import cli
from .home import home_panel
from .schemas import OPENAPI
from .views.api import api
from .views.department import department
from .views.pages import bp
from .views.public import public

service = ServiceDescriptor(
    slug="cemetery",
    name=_l("Cemetery"),
    description=_l("The plan of the cemetery, concessions and their deadlines, burials, the reprise of abandoned "
                   "graves and the registers."),
    icon="map",
    blueprint=bp,
    api_blueprint=api,
    public_blueprint=public,
    department_blueprint=department,
    index_endpoint="cemetery.index",
    access_permission="cemetery.read",
    permissions=PERMISSIONS,
    permission_labels={"cemetery.read": _l("Cemetery: see the plan, concessions and registers"),
                       "cemetery.write": _l("Cemetery: record concessions, operations and reprises")},
    nav=[NavEntry(_l("Cemetery plan"), "cemetery.index"), NavEntry(_l("Deadlines"), "cemetery.deadlines_page"),
         NavEntry(_l("Reprises"), "cemetery.reprises"), NavEntry(_l("Morts pour la France"), "cemetery.mpf_graves"), NavEntry(_l("Registers"), "cemetery.registers"),
         NavEntry(_l("Tariffs"), "cemetery.tariffs"), NavEntry(_l("Import"), "cemetery.import_page", "cemetery.write"),
         NavEntry(_l("Public search"), "cemetery.preferences")],
    department_nav=[NavEntry(_l("Cemeteries per commune"), "cemetery_department.overview")],
    collectivity_kinds=("commune",),
    models=("services.cemetery.models",),
    migrations=service_folder(__file__, "migrations"),
    settings=(Setting("CEMETERY_IMPORT_MAX_ROWS", 20000, "most lines of one cemetery import file"),
              Setting("CEMETERY_IMPORT_DIR", "", "folder of the import files between preview and confirmation "
                      "(empty: instance/cemetery/imports)"),
              Setting("CEMETERY_PLAN_DIR", "", "folder of the cemeteries' scanned plans (empty: instance/cemetery/plans)"),
              Setting("CEMETERY_PLAN_MAX_MB", 25, "largest scanned plan accepted, in MB"),
              Setting("CEMETERY_REGISTER_DIR", "", "folder of the register PDFs built in the background (empty: "
                      "instance/cemetery/registers)"),
              Setting("CEMETERY_CADASTRE_WMTS",
                      "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                      "&LAYER=CADASTRALPARCELS.PARCELLAIRE_EXPRESS&STYLE=PCI%20vecteur&TILEMATRIXSET=PM"
                      "&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}",
                      "cadastral parcels drawn under the cemetery plan (IGN's PCI WMTS; shown only when served from "
                      "the base layer's host, which the CSP allows; empty: none)")),
    openapi=OPENAPI,
    tasks=("services.cemetery.tasks",),
    beat_schedule={"cemetery-requeue-registers": {"task": "cemetery.requeue_registers", "schedule": 300.0}},
    home_panel=home_panel,
    cli=cli,
    audit_labels={
        "cemetery.plan_changed": _l("Cemetery: plan changed"),
        "cemetery.tariff_added": _l("Cemetery: tariff added"),
        "cemetery.concession_created": _l("Cemetery: concession granted"),
        "cemetery.concession_renewed": _l("Cemetery: concession renewed"),
        "cemetery.concession_converted": _l("Cemetery: concession converted"),
        "cemetery.concession_retroceded": _l("Cemetery: concession given back to the commune"),
        "cemetery.person_added": _l("Cemetery: holder or ayant droit added"),
        "cemetery.person_changed": _l("Cemetery: holder or ayant droit changed"),
        "cemetery.person_removed": _l("Cemetery: holder or ayant droit removed"),
        "cemetery.operation_recorded": _l("Cemetery: operation recorded"),
        "cemetery.reprise_opened": _l("Cemetery: reprise procedure opened"),
        "cemetery.reprise_step_done": _l("Cemetery: reprise step done"),
        "cemetery.reprise_done": _l("Cemetery: emplacement taken back"),
        "cemetery.reprise_stopped": _l("Cemetery: reprise procedure stopped"),
        "cemetery.preference_changed": _l("Cemetery: public search settings changed"),
        "cemetery.imported": _l("Cemetery: data imported"),
        "cemetery.letters_printed": _l("Cemetery: letters to holders printed"),
        "cemetery.mpf_changed": _l("Cemetery: « Mort pour la France » mention changed"),
        "cemetery.plan_image_uploaded": _l("Cemetery: scanned plan uploaded"),
        "cemetery.placed_on_image": _l("Cemetery: placed on the scanned plan"),
        "cemetery.register_requested": _l("Cemetery: register requested"),
        "cemetery.register_built": _l("Cemetery: register prepared"),
        "cemetery.register_downloaded": _l("Cemetery: register downloaded"),
    },
    audit_detail_labels={
        "name": _l("name"), "kind": _l("type"), "duration": _l("duration (years)"), "valid_from": _l("from"),
        "price": _l("price"), "number": _l("number"), "plot": _l("emplacement"), "starts_on": _l("start"),
        "ends_on": _l("end"), "previous": _l("previous concession"), "credit": _l("deduction"), "on": _l("date"),
        "refund": _l("refund"), "role": _l("role"), "operation": _l("operation"), "deceased": _l("deceased"),
        "authorisation": _l("authorisation"), "procedure": _l("procedure"), "step": _l("step"),
        "reason": _l("reason"), "public_search": _l("public search"), "public_dates": _l("dates shown"),
        "lines": _l("lines"), "filename": _l("file"), "count": _l("number"), "mpf": _l("Mort pour la France"),
        "source": _l("source"), "cemetery": _l("cemetery"), "placed": _l("placed"), "width": _l("width"),
        "height": _l("height"), "register": _l("register"), "background": _l("in the background"),
    },
)
