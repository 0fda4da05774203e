"""Settings a service declares in its descriptor, read through one helper.

A service lists its settings in ``ServiceDescriptor.settings``::

    settings=(Setting("ALERTS_SMS_RATE", 10.0, "SMS per second sent to the provider, all workers together"),
              Setting("ALERTS_WEBHOOK_SECRET", "", "shared secret of the provider webhooks")),

and reads one with ``setting("ALERTS_SMS_RATE")``: the app configuration's value (``create_app(overrides)``, or the
environment variable of the same name, which the registry copies in at start-up), else the declared default; a
string is converted to the type of the default (``int``, ``float``, ``bool``). Asking for a key no service declared
is an error, so a setting cannot be used without being documented: README.md lists every declared setting (a test
compares it with :func:`markdown_rows`; ``flask settings`` prints them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import AppGroup

TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    key: str
    default: object = None
    description: str = ""  # English, for operators (README.md)


def declared() -> dict[str, Setting]:
    """Every setting declared by the services of the current app, by key."""
    return current_app.extensions.get("service_settings", {})


def load(app, slug: str, settings) -> None:
    """Record a service's declared settings and copy their environment variables into the app configuration."""
    table = app.extensions.setdefault("service_settings", {})
    prefix = f"{slug.upper()}_"
    for item in settings:
        if not item.key.startswith(prefix):
            raise ValueError(f"setting {item.key!r} of service {slug!r} must start with {prefix!r}")
        if item.key in table:
            raise ValueError(f"setting {item.key!r} declared twice")
        table[item.key] = item
        if item.key not in app.config and item.key in os.environ:
            app.config[item.key] = os.environ[item.key]


def convert(value, default):
    if isinstance(value, str) and default is not None and not isinstance(default, str):
        if isinstance(default, bool):
            return value.strip().lower() in TRUE
        if value.strip() == "":
            return default
        return type(default)(value.strip())
    return value


def setting(key: str):
    """The value of a declared setting (see the module docstring)."""
    item = declared().get(key)
    if item is None:
        raise KeyError(f"setting {key!r} is declared by no service (ServiceDescriptor.settings)")
    value = current_app.config.get(key)
    if value is None:
        value = os.environ.get(key)
    return item.default if value is None else convert(value, item.default)


def markdown_rows(services) -> list[str]:
    """README rows ``| `KEY` | default | description |`` of every declared setting, service by service."""
    rows = []
    for service in services:
        for item in service.settings:
            default = "empty" if item.default in (None, "") else f"`{item.default}`"
            rows.append(f"| `{item.key}` | {default} | {item.description} |")
    return rows


cli = AppGroup("settings", help="Settings declared by the services.")


@cli.command("list")
def list_settings():
    """Print every declared setting as README.md's table rows."""
    from .registry import registry

    for row in markdown_rows(registry.all()):
        click.echo(row)
