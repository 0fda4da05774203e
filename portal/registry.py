"""Service registry and gate (DESIGN.md §3).

A service is a package under ``services/`` exposing one :class:`ServiceDescriptor`. The portal finds descriptors
through the ``extranet.services`` entry-point group (declared in ``pyproject.toml``) and the ``EXTRA_SERVICES``
setting (import strings ``"package.module:attribute"``, used by tests and by operators who add a service without
reinstalling). Adding a service never edits portal code.

Every request to a service blueprint passes the gate:
1. signed in; 2. an active collectivity is selected; 3. its convention is in force and covers the service, and the
department has enabled the service for it; 4. the membership's role (or an extra grant) holds the permission the
view asks for (``@requires``), or the service's ``access_permission`` when the view asks for none.

A service's pages are mounted at ``/s/<slug>/``, its JSON API at ``/api/v1/<slug>/`` (``api_blueprint``; JSON
endpoints may also live under ``/s/<slug>/api/``): both behind the gate, and both accept personal access tokens
as well as the browser session. Pages for people without an account (residents, companies) go in the
``public_blueprint``, mounted at ``/p/<slug>/`` with no gate: an anonymous request sees no territory, so a public
view enters the commune it is about with ``portal.tenancy.territory_scope({insee})``, and must never show personal
data.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from functools import wraps
from importlib.metadata import entry_points

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user

from . import audit, grants, settings, tenancy

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "extranet.services"


@dataclass
class NavEntry:
    label: object  # lazy French string
    endpoint: str
    permission: str | None = None


@dataclass
class ServiceDescriptor:
    slug: str
    name: object  # lazy string, French in the UI
    description: object
    icon: str = "grid"  # icon class of portal.css: vote, map, file, bell (others: grid)
    blueprint: Blueprint | None = None  # None: the service is announced but not deployed yet
    api_blueprint: Blueprint | None = None  # JSON API, mounted at /api/v1/<slug>/, behind the same gate
    public_blueprint: Blueprint | None = None  # pages without sign-in (residents, companies), at /p/<slug>/
    index_endpoint: str | None = None
    access_permission: str | None = None  # needed to enter the service at all
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # permission → default roles
    permission_labels: dict[str, object] = field(default_factory=dict)
    grantable: tuple[str, ...] = ()  # permissions a mayor may grant individually
    nav: list[NavEntry] = field(default_factory=list)
    # Pages of the service for the department team (imports, statistics, moderation…), at /admin/s/<slug>/. Gated
    # apart: the active collectivity must be the department, and the view's @requires permission (default
    # "collectivities.read") must be held. A department page that touches a commune's data states it with
    # portal.tenancy.territory_scope (explicit system context), never with a hand-written filter.
    department_blueprint: Blueprint | None = None
    department_nav: list[NavEntry] = field(default_factory=list)
    cli: object | None = None  # a click.Group added to ``flask``
    tasks: tuple[str, ...] = ()  # modules holding Celery tasks, imported by the worker
    beat_schedule: dict = field(default_factory=dict)  # periodic tasks: name → {"task": …, "schedule": …}
    # Kinds of collectivity the service is for: personal data of residents (voters) belong to communes only.
    collectivity_kinds: tuple[str, ...] = ("commune", "epci")
    # callable(collectivity, permissions) -> HTML or None, shown on the home page when subscribed (e.g. deadlines).
    home_panel: object | None = None
    models: tuple[str, ...] = ()  # modules holding models, imported before migrations
    # What the audit journal shows for the service's actions and detail keys (lazy French strings). Every action
    # the service records must be here: a test walks the registry.
    audit_labels: dict[str, object] = field(default_factory=dict)
    audit_detail_labels: dict[str, object] = field(default_factory=dict)
    # Settings (portal.settings.Setting: key prefixed with the slug, default, description), read with
    # portal.settings.setting(key) and listed in README.md.
    settings: tuple = ()
    # The service's part of /api/v1/openapi.json: {"paths": {"/<slug>/…": {…}}, "schemas": {"Name": {…}}}; paths
    # relative to /api/v1, schemas added to components.schemas.
    openapi: dict = field(default_factory=dict)
    # The service's own Alembic folder (e.g. str(Path(__file__).with_name("migrations"))), added to Alembic's
    # version_locations: its revisions live beside its code.
    migrations: str | None = None
    # A core part of the portal rather than a subscription: open to every collectivity of ``collectivity_kinds``
    # without a convention (step 3 of the gate is skipped); steps 1, 2 and 4 still apply.
    core: bool = False

    @property
    def deployed(self) -> bool:
        return self.blueprint is not None

    def serves(self, collectivity) -> bool:
        """The one "communes only" rule: is the service for this kind of collectivity (``collectivity_kinds``)?"""
        return collectivity is not None and collectivity.kind in self.collectivity_kinds


def service_folder(module_file: str, name: str) -> str:
    """A folder beside a service's descriptor: ``migrations=service_folder(__file__, "migrations")``."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(module_file)), name)


class Registry:
    def __init__(self) -> None:
        self._services: dict[str, ServiceDescriptor] = {}
        self._role_permissions: dict[str, frozenset[str]] = {}

    def role_permissions(self, role: str, portal_permissions: dict[str, tuple[str, ...]]) -> frozenset[str]:
        """The permissions ``role`` holds by default: the portal's and each service's (permissions.role_permissions).
        Worked out once per role: the services and their permissions are fixed when the app is built."""
        perms = self._role_permissions.get(role)
        if perms is None:
            found = {p for p, roles in portal_permissions.items() if role in roles}
            for service in self._services.values():
                found |= {p for p, roles in service.permissions.items() if role in roles}
            perms = self._role_permissions[role] = frozenset(found)
        return perms

    def all(self) -> list[ServiceDescriptor]:
        return list(self._services.values())

    def get(self, slug: str) -> ServiceDescriptor | None:
        return self._services.get(slug)

    def slugs(self) -> list[str]:
        return list(self._services)

    def by_blueprint(self, blueprint_name: str) -> ServiceDescriptor | None:
        """The service whose gated blueprint (pages or API) has this name; public blueprints are not gated."""
        for s in self._services.values():
            for bp in (s.blueprint, s.api_blueprint):
                if bp is not None and bp.name == blueprint_name:
                    return s
        return None

    def by_department_blueprint(self, blueprint_name: str) -> ServiceDescriptor | None:
        for s in self._services.values():
            if s.department_blueprint is not None and s.department_blueprint.name == blueprint_name:
                return s
        return None

    def nav_for(self, collectivity, permissions: set[str]) -> list[dict]:
        """Menu entries of the services for the active collectivity: for a commune or EPCI, each subscribed
        service it may open; for the department, each service's department pages."""
        entries = []
        if collectivity is None:
            return entries
        subscribed = None if collectivity.is_operator else subscribed_slugs(collectivity)
        for s in self._services.values():
            if collectivity.is_operator:
                items = [e for e in s.department_nav if not e.permission or e.permission in permissions]
            elif service_state(s, collectivity, permissions, subscribed) == "subscribed":
                items = [e for e in s.nav if not e.permission or e.permission in permissions]
            else:
                continue
            if items:
                entries.append({"service": s, "items": items})
        return entries

    def discover(self, extra: list[str]) -> list[ServiceDescriptor]:
        found: list[ServiceDescriptor] = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            found.append(ep.load())
        for spec in extra:
            module, _, attr = spec.partition(":")
            found.append(getattr(importlib.import_module(module), attr or "service"))
        return found

    def init_app(self, app: Flask) -> None:
        self._services = {}
        self._role_permissions = {}
        for service in self.discover(app.config.get("EXTRA_SERVICES", [])):
            if not isinstance(service, ServiceDescriptor):
                raise TypeError(f"{service!r} is not a ServiceDescriptor")
            if self._services.get(service.slug) is service:
                continue  # listed in EXTRA_SERVICES and installed as an entry point: the same descriptor, once
            if service.slug in self._services:
                raise ValueError(f"two services share the slug {service.slug!r}")
            self._services[service.slug] = service
            for module in service.models:
                importlib.import_module(module)
            audit.register_labels(service.audit_labels, service.audit_detail_labels)
            settings.load(app, service.slug, service.settings)
            if service.blueprint is not None:
                app.register_blueprint(service.blueprint, url_prefix=f"/s/{service.slug}")
            if service.api_blueprint is not None:
                app.register_blueprint(service.api_blueprint, url_prefix=f"/api/v1/{service.slug}")
            if service.department_blueprint is not None:
                app.register_blueprint(service.department_blueprint, url_prefix=f"/admin/s/{service.slug}")
            if service.public_blueprint is not None:
                app.register_blueprint(service.public_blueprint, url_prefix=f"/p/{service.slug}")
            if service.cli is not None:
                app.cli.add_command(service.cli)
            log.debug("service registered: %s%s", service.slug, "" if service.deployed else " (not deployed)")
        app.before_request(_gate)
        app.extensions["service_registry"] = self
        app.cli.add_command(settings.cli)

    def migration_folders(self) -> list[str]:
        """The services' own Alembic folders (``ServiceDescriptor.migrations``)."""
        return [s.migrations for s in self._services.values() if s.migrations]


class _CurrentRegistry:
    """The registry of the application in context. Each app built by create_app has its own Registry (kept in
    app.extensions), so building a second app (a test, a CLI tool) never changes the services of the first."""

    def __getattr__(self, name):
        return getattr(current_app.extensions["service_registry"], name)

    def __repr__(self) -> str:
        return "<registry of the current app>"


registry = _CurrentRegistry()


def is_open_to(service: ServiceDescriptor, collectivity) -> bool:
    """Whether ``collectivity`` may enter ``service`` at all: a kind the service is for, and a subscription in force
    unless the service is a core part of the portal (``core``)."""
    if not service.serves(collectivity):
        return False
    return service.core or is_subscribed(collectivity, service.slug)


def is_subscribed(collectivity, slug: str) -> bool:
    """Convention in force covering the service, and the department's switch on."""
    return slug in subscribed_slugs(collectivity)


def subscribed_slugs(collectivity) -> frozenset[str]:
    """The services ``collectivity`` subscribes (:func:`is_subscribed`), worked out at once: its convention in force
    is looked for once, not once per service."""
    if collectivity is None:
        return frozenset()
    conv = collectivity.convention_in_force()
    if conv is None or not conv.services:
        return frozenset()
    return frozenset(conv.services) & collectivity.enabled_services()


def _gate():
    if not request.blueprint:
        return None
    service = None
    for name in request.blueprints:  # nested blueprints: innermost first
        service = registry.by_blueprint(name)
        if service:
            break
    if service is None:
        for name in request.blueprints:
            service = registry.by_department_blueprint(name)
            if service:
                return _department_gate(service)
        return None
    if grants.granted_request():  # a view that accepts grants, asked with one: the grant stands for steps 1-4
        claims = grants.verify(service.slug, request.args[grants.PARAM])
        if claims is None:
            abort(403)
        tenancy.activate(frozenset(claims["t"]))
        g.service = service
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    collectivity = g.get("collectivity")
    if collectivity is None:
        return redirect(url_for("home.index"))
    if not is_open_to(service, collectivity):
        return render_template("errors/not_subscribed.html", service=service), 403
    view = current_app.view_functions.get(request.endpoint)
    needed = getattr(view, "_required_permission", None) or service.access_permission
    if needed and needed not in g.permissions:
        abort(403)
    g.service = service
    return None


def _department_gate(service: ServiceDescriptor):
    """A service's pages for the department team: signed in, working for the department, holding the permission."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    collectivity = g.get("collectivity")
    if collectivity is None or collectivity.kind != "department":
        abort(403)
    view = current_app.view_functions.get(request.endpoint)
    needed = getattr(view, "_required_permission", None) or "collectivities.read"
    if needed not in g.permissions:
        abort(403)
    g.service = service
    return None


def requires(permission: str):
    """Mark a view as needing a permission of the active membership (checked by the gate for service views)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if permission not in g.get("permissions", set()):
                abort(403)
            return view(*args, **kwargs)

        wrapper._required_permission = permission
        return wrapper

    return decorator


def service_state(s: ServiceDescriptor, collectivity, permissions: set[str],
                  subscribed: frozenset[str] | None = None) -> str | None:
    """Where a collectivity stands with a service: ``subscribed`` (and may open it), ``no_access`` (subscribed, but
    the person lacks its access permission), ``not_subscribed``, ``not_deployed``; None when the service is not for
    this kind of collectivity. The home page's tiles and the menu read it, for every service, with the
    collectivity's ``subscribed`` services (:func:`subscribed_slugs`) worked out once."""
    if collectivity is not None and not s.serves(collectivity):
        return None
    if not s.deployed:
        return "not_deployed"
    if subscribed is None:
        subscribed = subscribed_slugs(collectivity)
    if not (s.core or s.slug in subscribed):
        return "not_subscribed"
    return "subscribed" if (not s.access_permission or s.access_permission in permissions) else "no_access"


def service_tiles(collectivity, permissions: set[str]) -> list[dict]:
    """What the home page shows for each service: subscribed tile, not subscribed, or not deployed yet."""
    tiles = []
    subscribed = subscribed_slugs(collectivity)
    for s in registry.all():
        state = service_state(s, collectivity, permissions, subscribed)
        if state is None:
            continue  # not a service for this kind of collectivity
        url = url_for(s.index_endpoint) if state == "subscribed" and s.index_endpoint else None
        tiles.append({"service": s, "state": state, "url": url})
    order = {"subscribed": 0, "no_access": 1, "not_subscribed": 2, "not_deployed": 3}
    return sorted(tiles, key=lambda t: order[t["state"]])

