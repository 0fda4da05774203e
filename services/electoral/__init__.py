"""Electoral rolls — Keep the electoral rolls, print émargement lists and voter cards, exchange files with the REU. (issue #4).

The service is announced to the portal (its descriptor: name, permissions) but not deployed yet: it has no
blueprint, so the home page shows it as « en préparation » and no page of it exists. Its issue builds it here.
"""
from flask_babel import lazy_gettext as _l

from portal.registry import ServiceDescriptor

service = ServiceDescriptor(
    slug="electoral",
    name=_l("Electoral rolls"),
    description=_l("Keep the electoral rolls, print émargement lists and voter cards, exchange files with the REU."),
    icon="vote",
    access_permission="electoral.read",
    permissions={
        "electoral.read": ("mayor", "secretary", "elected"),
        "electoral.write": ("mayor", "secretary"),
    },
)
