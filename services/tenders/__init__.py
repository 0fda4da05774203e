"""Public tenders — Draft a tender step by step, publish it and follow it until the award. (issue #5).

The service is announced to the portal (its descriptor: name, permissions) but not deployed yet: it has no
blueprint, so the home page shows it as « en préparation » and no page of it exists. Its issue builds it here.
"""
from flask_babel import lazy_gettext as _l

from portal.registry import ServiceDescriptor

service = ServiceDescriptor(
    slug="tenders",
    name=_l("Public tenders"),
    description=_l("Draft a tender step by step, publish it and follow it until the award."),
    icon="file",
    access_permission="tenders.read",
    permissions={
        "tenders.read": ("mayor", "secretary", "elected"),
        "tenders.write": ("mayor", "secretary"),
    },
)
