"""A service skeleton to copy: the whole shape of a service package, small enough to read in one sitting.

Not registered in ``pyproject.toml``: it is mounted only by its test (``EXTRA_SERVICES=services._template:service``,
``tests/services/template/``). To start a real service, copy the folder to ``services/<slug>/``, rename ``template``
everywhere, and follow ``services/README.md``.

This file is the service's whole contract with the portal — the descriptor declares everything; importing the
package registers nothing by side effect.
"""
from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .access import PERMISSIONS
from .schemas import OPENAPI
from .views.api import api
from .views.department import department
from .views.pages import bp
from .views.public import public

service = ServiceDescriptor(
    slug="template",
    name=_l("Notes (service skeleton)"),
    description=_l("The shape every service takes, with one page of notes."),
    icon="file",
    blueprint=bp,
    api_blueprint=api,
    public_blueprint=public,
    department_blueprint=department,
    index_endpoint="template.index",
    access_permission="template.read",
    permissions=PERMISSIONS,
    permission_labels={"template.write": _l("Notes: write")},
    nav=[NavEntry(_l("Notes"), "template.index")],
    department_nav=[NavEntry(_l("Notes per commune"), "template_department.overview")],
    collectivity_kinds=("commune",),  # the one "communes only" rule, enforced by the gate
    models=("services._template.models",),
    migrations=service_folder(__file__, "migrations"),
    settings=(Setting("TEMPLATE_MAX_NOTES", 100, "most notes a commune may keep"),),
    openapi=OPENAPI,
    audit_labels={"template.note_created": _l("Notes: note written")},
    audit_detail_labels={"title": _l("title")},
)
