"""Roles and permissions.

Portal permissions are fixed here; each service adds its own through its descriptor (``ServiceDescriptor.permissions``
maps a permission to the roles that hold it by default). A mayor may grant a service permission to a member on top
of their role (``Membership.extra_permissions``).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_DEPT_ADMIN = "dept_admin"
ROLE_DEPT_AGENT = "dept_agent"
ROLE_MAYOR = "mayor"
ROLE_SECRETARY = "secretary"
ROLE_ELECTED = "elected"
ROLE_PARTNER = "partner"  # a publisher of a partner organisation (Collectivity kind "partner"); no portal permission

DEPARTMENT_ROLES = (ROLE_DEPT_ADMIN, ROLE_DEPT_AGENT)
COLLECTIVITY_ROLES = (ROLE_MAYOR, ROLE_SECRETARY, ROLE_ELECTED)
# Roles a mayor may give when inviting (a mayor account is created by the department).
INVITABLE_ROLES = (ROLE_SECRETARY, ROLE_ELECTED)

ROLE_LABELS = {
    ROLE_DEPT_ADMIN: _l("Department administrator"),
    ROLE_DEPT_AGENT: _l("Department agent"),
    ROLE_MAYOR: _l("Mayor"),
    ROLE_SECRETARY: _l("Town-hall secretary"),
    ROLE_ELECTED: _l("Elected official"),
    ROLE_PARTNER: _l("Partner publisher"),
}

# Portal permissions → roles holding them.
PORTAL_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "collectivities.admin": (ROLE_DEPT_ADMIN,),  # conventions, services, first accounts, suspensions
    "collectivities.read": (ROLE_DEPT_ADMIN, ROLE_DEPT_AGENT),
    "audit.read.all": (ROLE_DEPT_ADMIN,),
    "support.enter": (ROLE_DEPT_ADMIN, ROLE_DEPT_AGENT),  # the audited, time-limited support mode (support.py)
    "members.manage": (ROLE_MAYOR,),  # invite, change role, remove, grant service permissions
    "members.read": (ROLE_MAYOR, ROLE_SECRETARY, ROLE_ELECTED),
    "audit.read": (ROLE_MAYOR,),
}


EPCI_ADMIN_LABEL = _l("President (administrator of the EPCI)")


def role_label(role: str, kind: str | None = None) -> str:
    """The role as people call it; in an EPCI the collectivity administrator is its president."""
    if role == ROLE_MAYOR and kind == "epci":
        return str(EPCI_ADMIN_LABEL)
    return str(ROLE_LABELS.get(role, role))


def role_permissions(role: str) -> set[str]:
    """Every permission a role holds by default, portal and services (a new set: the caller may change it)."""
    from .registry import registry

    return set(registry.role_permissions(role, PORTAL_PERMISSIONS))


def membership_permissions(membership) -> set[str]:
    if membership is None:
        return set()
    return role_permissions(membership.role) | set(membership.extra_permissions or [])


def grantable_permissions() -> dict[str, str]:
    """Service permissions a mayor may grant individually: permission → French label."""
    from .registry import registry

    out: dict[str, str] = {}
    for service in registry.all():
        for perm in service.grantable:
            out[perm] = str(service.permission_labels.get(perm, perm))
    return out
