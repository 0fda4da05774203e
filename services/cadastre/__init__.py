"""Land registry — Consult parcels on a map, search by reference, address or owner, print parcel sheets. (issue #3).

The service is announced to the portal (its descriptor: name, permissions) but not deployed yet: it has no
blueprint, so the home page shows it as « en préparation » and no page of it exists. Its issue builds it here.
"""
from flask_babel import lazy_gettext as _l

from portal.registry import ServiceDescriptor

service = ServiceDescriptor(
    slug="cadastre",
    name=_l("Land registry"),
    description=_l("Consult parcels on a map, search by reference, address or owner, print parcel sheets."),
    icon="map",
    access_permission="cadastre.read",
    permissions={
        "cadastre.read": ("mayor", "secretary", "elected"),
        "cadastre.owners.read": ("mayor",),
    },
    permission_labels={"cadastre.owners.read": _l("Land registry: read owners")},
    grantable=("cadastre.owners.read",),
)
