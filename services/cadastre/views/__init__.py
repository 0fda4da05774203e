"""The land registry's web layer, one module per audience: ``pages`` (the mairie's staff: map page, search, parcel,
neighbours, parcel sheet), ``owners`` (owner data, ``cadastre.owners.read``), ``maps`` (the map document and its
vector tiles), ``department`` (the department's import page), ``api`` (JSON API at /api/v1/cadastre/).

``bp`` is the staff blueprint the pages, owners and maps modules add their routes to (imported at the end, once it
exists).
"""
from flask import Blueprint

from ..pdf import css_string

bp = Blueprint("cadastre", "services.cadastre", template_folder="templates", static_folder="static",
               static_url_path="/static")
bp.add_app_template_filter(css_string, "css_string")

from . import maps, owners, pages  # noqa: E402,F401 - routes of bp
from .api import api_bp  # noqa: E402,F401
from .department import department_bp  # noqa: E402,F401
