"""Electoral rolls (issue #4): voters, polling stations, movements with history, REU/ELIRE file import and export,
émargement lists and voter cards as PDF, the legal calendar of elections.

Voters are personal data: only members of a commune holding ``electoral.read`` / ``electoral.write`` see them. The
blueprints also refuse any active collectivity that is not a commune (EPCI, department), whatever its convention.
"""
import datetime as _dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder

from .cli import cli
from .home import home_panel
from .views import api, bp

service = ServiceDescriptor(
    slug="electoral",
    name=_l("Electoral rolls"),
    description=_l("Keep the electoral rolls, print émargement lists and voter cards, exchange files with the REU."),
    icon="vote",
    blueprint=bp,
    api_blueprint=api,
    index_endpoint="electoral.index",
    access_permission="electoral.read",
    permissions={
        "electoral.read": ("mayor", "secretary", "elected"),
        "electoral.write": ("mayor", "secretary"),
    },
    permission_labels={"electoral.read": _l("Electoral rolls: read"),
                       "electoral.write": _l("Electoral rolls: change")},
    nav=[NavEntry(_l("Voters"), "electoral.index"), NavEntry(_l("Register a voter"), "electoral.register",
                                                             "electoral.write")],
    cli=cli,
    tasks=("services.electoral.tasks",),
    beat_schedule={"electoral-requeue-prints": {"task": "electoral.requeue_prints",
                                                "schedule": _dt.timedelta(minutes=5)}},
    models=("services.electoral.models",),
    migrations=service_folder(__file__, "migrations"),
    collectivity_kinds=("commune",),
    home_panel=home_panel,
)
