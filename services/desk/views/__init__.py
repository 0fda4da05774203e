"""Blueprints of the information desk, split by audience: ``pages`` (members of collectivities and partners,
``/s/desk/``), ``department`` (the department team, ``/admin/s/desk/``), ``public`` (no sign-in, ``/p/desk/``)."""
from pathlib import Path

# The blueprints' root is the desk package, where its templates and its French catalog are (the portal merges the
# catalog found beside each blueprint's root).
PACKAGE = str(Path(__file__).resolve().parents[1])

from . import forum  # noqa: F401,E402 - the forum's routes, on the pages blueprint
from . import jobs  # noqa: F401,E402 - job offers: pages and public pages
from . import directory  # noqa: F401,E402 - the directory and the communes' public pages
from . import agenda  # noqa: F401,E402 - the agenda: pages, public pages, .ics
from . import guide  # noqa: F401,E402 - the user guide and the « Aide » link of every page
from . import library  # noqa: F401,E402 - the documents library and the fiches juridiques, on the pages blueprint
from .department import department_bp  # noqa: E402
from .pages import bp  # noqa: E402
from .public import public_bp  # noqa: E402

__all__ = ["bp", "department_bp", "public_bp"]
