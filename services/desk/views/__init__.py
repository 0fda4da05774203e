"""Blueprints of the information desk, split by audience: ``pages`` (members of collectivities and partners,
``/s/desk/``), ``department`` (the department team, ``/admin/s/desk/``), ``public`` (no sign-in, ``/p/desk/``)."""
from . import forum  # noqa: F401 - the forum's routes, on the pages blueprint
from .department import department
from .pages import bp
from .public import public

__all__ = ["bp", "department", "public"]
