"""The web side of the service, one module per audience: ``pages`` (the mairie's staff pages, with ``individual``
messages on the same blueprint), ``department`` (the department's pages), ``public`` (residents, no account; the
providers' webhooks) and ``api`` (JSON API)."""
from . import individual  # noqa: F401 - its routes are on the pages blueprint
from .api import api_bp
from .department import department_bp
from .pages import bp
from .public import public_bp

__all__ = ["api_bp", "bp", "department_bp", "public_bp"]
