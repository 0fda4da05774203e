"""Electoral rolls: voters, polling stations, movements with history, REU/ELIRE file import and export,
émargement lists and voter cards as PDF, procurations, the legal calendar of elections.

Voters are personal data: only members of a commune holding ``electoral.read`` / ``electoral.write`` see them. The
blueprints also refuse any active collectivity that is not a commune (EPCI, department), whatever its convention.
"""
import datetime as _dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .cli import cli
from .home import home_panel
from .schemas import OPENAPI
from .views import api_bp, bp

service = ServiceDescriptor(
    slug="electoral",
    name=_l("Electoral rolls"),
    description=_l("Keep the electoral rolls, print émargement lists and voter cards, exchange files with the REU."),
    icon="vote",
    blueprint=bp,
    api_blueprint=api_bp,
    index_endpoint="electoral.index",
    access_permission="electoral.read",
    permissions={
        "electoral.read": ("mayor", "secretary", "elected"),
        "electoral.write": ("mayor", "secretary"),
    },
    permission_labels={"electoral.read": _l("Electoral rolls: read"),
                       "electoral.write": _l("Electoral rolls: change")},
    # one entry: the service's own tabs (templates/electoral/_nav.html) are its only sub-menu
    nav=[NavEntry(_l("Voters"), "electoral.index")],
    cli=cli,
    tasks=("services.electoral.tasks",),
    beat_schedule={"electoral-requeue-prints": {"task": "electoral.requeue_prints",
                                                "schedule": _dt.timedelta(minutes=5)}},
    models=("services.electoral.models",),
    migrations=service_folder(__file__, "migrations"),
    collectivity_kinds=("commune",),
    openapi=OPENAPI,
    settings=(
        Setting("ELECTORAL_PRINT_INLINE_VOTERS", 3000, "above this many voters, émargement lists and voter cards "
                "are prepared by a Celery task (« Impressions »)"),
        Setting("ELECTORAL_PRINT_DIR", "", "folder of the background print runs, shared by web and worker hosts "
                "(empty: instance/electoral-prints)"),
        Setting("ELECTORAL_IMPORT_REMOVAL_PERCENT", 10.0, "an import removing more than this share of the roll "
                "needs the number of removals typed"),
        Setting("ELECTORAL_IMPORT_REMOVAL_MAX", 50, "… or more than this many voters, whatever the share"),
    ),
    home_panel=home_panel,
    audit_labels={
        "electoral.voters_searched": _l("Voters searched"),
        "electoral.voter_viewed": _l("Voter's page opened"),
        "electoral.voter_registered": _l("Voter registered"),
        "electoral.voter_changed": _l("Voter changed"),
        "electoral.voter_removed": _l("Voter removed from the roll"),
        "electoral.voter_reinstated": _l("Voter back on the roll"),
        "electoral.identity_checked_in_department": _l("Identity looked up in the department's rolls"),
        "electoral.justification_read": _l("Supporting document opened"),
        "electoral.young_listed": _l("People turning 18 listed"),
        "electoral.import_previewed": _l("Electoral file previewed"),
        "electoral.import_applied": _l("Electoral file imported"),
        "electoral.import_cancelled": _l("Electoral file import cancelled"),
        "electoral.roll_exported": _l("Electoral roll exported (CSV)"),
        "electoral.bureau_created": _l("Polling station created"),
        "electoral.bureau_updated": _l("Polling station changed"),
        "electoral.bureau_deleted": _l("Polling station deleted"),
        "electoral.street_assigned": _l("Street assigned to a polling station"),
        "electoral.street_updated": _l("Street table changed"),
        "electoral.street_deleted": _l("Street removed from the table"),
        "electoral.election_created": _l("Election created"),
        "electoral.election_deadline_set": _l("Registration deadline of an election set"),
        "electoral.emargement_printed": _l("Émargement list printed"),
        "electoral.cards_printed": _l("Voter cards printed"),
        "electoral.roll_printed": _l("Electoral roll printed"),
        "electoral.statistics_printed": _l("Statistics of the roll printed"),
        "electoral.commission_viewed": _l("Movements for the commission de contrôle viewed"),
        "electoral.commission_printed": _l("Commission de contrôle document printed"),
        "electoral.print_requested": _l("Print run started in the background"),
        "electoral.print_downloaded": _l("Print run downloaded"),
        "electoral.procuration_recorded": _l("Procuration recorded"),
        "electoral.procuration_cancelled": _l("Procuration cancelled"),
        "electoral.procurations_imported": _l("Procurations imported from the REU"),
    },
    audit_detail_labels={
        "voters": _l("voters"), "voter": _l("voter"), "results": _l("results"), "kind": _l("kind"),
        "reason": _l("reason"), "effective_on": _l("effective on"), "fields": _l("fields"),
        "changes": _l("changes"), "before": _l("before"), "after": _l("after"), "bureau": _l("polling station"),
        "street": _l("street"), "streets": _l("streets"), "election": _l("election"), "filename": _l("file"),
        "movements": _l("movements"), "start": _l("from"), "end": _l("to"), "on": _l("on"),
        "found": _l("found"), "reference": _l("legal reference"),
        "registration_deadline": _l("registration deadline"), "background": _l("in the background"), "lines": _l("lines"), "new": _l("new"),
        "modified": _l("modified"), "reinstated": _l("reinstated"), "removed": _l("removed"),
        "unchanged": _l("unchanged"), "errors": _l("refused lines"), "new_bureaux": _l("new polling stations"),
        "authority": _l("established by"), "procurations": _l("procurations"),
    },
)
