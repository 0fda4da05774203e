"""Citizen alerts — Send SMS and e-mail alerts to the residents who subscribed, one by one or all at once. (issue #6).

The service is announced to the portal (its descriptor: name, permissions) but not deployed yet: it has no
blueprint, so the home page shows it as « en préparation » and no page of it exists. Its issue builds it here.
"""
from flask_babel import lazy_gettext as _l

from portal.registry import ServiceDescriptor

service = ServiceDescriptor(
    slug="alerts",
    name=_l("Citizen alerts"),
    description=_l("Send SMS and e-mail alerts to the residents who subscribed, one by one or all at once."),
    icon="bell",
    access_permission="alerts.read",
    permissions={
        "alerts.read": ("mayor", "secretary"),
        "alerts.send": ("mayor", "secretary"),
    },
    permission_labels={"alerts.send": _l("Citizen alerts: send messages")},
)
