"""The service's settings: ``ALERTS_*`` keys of the app configuration, else the environment variable of the same name
(the portal's config loader does not know the services' variables). Every one is listed in the package docstring."""
from __future__ import annotations

import os

from flask import current_app


def setting(name: str, default=None):
    value = current_app.config.get(name)
    if value is None:
        value = os.environ.get(name)
    return default if value is None else value
