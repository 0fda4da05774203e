"""The information desk (« espace d'information »): news from the department and its partners on the home page of
every member collectivity, with read marks and an e-mail digest; a forum of the mairies, the department and the
partners (solutions, following, reports, moderation by the department).

A core part of the portal, not a subscription (``core=True``): every commune and EPCI has it without a convention, and
partner organisations (Association des maires, centre de gestion, préfecture…; ``Collectivity`` of kind
``partner``, added by the department) enter it — and nothing else: the other services are not for their kind and
they hold no portal permission. Every publication has an audience (``portal.audiences``), enforced in the query
layer, never in a view.

Pages: ``/s/desk/`` (news, publishing, digest choice, Atom feed of one's news), ``/s/desk/forum``,
``/s/desk/documents`` (each organisation's library: folders, documents, versions, previews), ``/s/desk/fiches``
(fiches juridiques, their history and model documents),
``/admin/s/desk/partenaires`` (the department adds partners and their first publisher), ``/admin/s/desk/forum``
(categories, reported messages), ``/p/desk/desabonnement/<token>`` (leave the digest); job offers
``/s/desk/emplois`` (public: ``/p/desk/emplois``, ``/p/desk/emplois.atom``), the directory ``/s/desk/annuaire``
(public: ``/p/desk/annuaire``, each commune's page ``/p/desk/annuaire/<insee>``), the agenda ``/s/desk/agenda``
(public: ``/p/desk/agenda``; .ics), the user guide ``/p/desk/aide`` (and its PDF).
Tasks: ``desk.send_digests``, ``desk.close_job_offers``, ``desk.send_event_reminders``, every hour on beat.
"""
import datetime as dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .home import news_panel
from .views import bp, department_bp, public_bp

service = ServiceDescriptor(
    slug="desk",
    name=_l("Information desk"),
    description=_l("News from the department and its partners, for every collectivity."),
    icon="file",
    core=True,
    collectivity_kinds=("commune", "epci", "partner", "department"),
    blueprint=bp,
    public_blueprint=public_bp,
    department_blueprint=department_bp,
    index_endpoint="desk.news_list",
    access_permission="desk.read",
    permissions={
        "desk.read": ("mayor", "secretary", "elected", "partner", "dept_admin", "dept_agent"),
        "desk.publish": ("partner", "dept_admin"),
        "desk.moderate": ("dept_admin",),
        "desk.partners.manage": ("dept_admin",),
        "desk.forum.post": ("mayor", "secretary", "elected", "partner", "dept_admin", "dept_agent"),
        "desk.jobs.publish": ("partner", "dept_admin", "mayor", "secretary"),
        "desk.directory.edit": ("mayor", "secretary"),
        "desk.events.publish": ("partner", "dept_admin", "dept_agent"),
        "desk.library": ("mayor", "secretary", "partner", "dept_admin"),
    },
    permission_labels={
        "desk.read": _l("Information desk: read"),
        "desk.publish": _l("Information desk: publish"),
        "desk.moderate": _l("Information desk: moderate"),
        "desk.partners.manage": _l("Information desk: add partners"),
        "desk.forum.post": _l("Information desk: write in the forum"),
        "desk.jobs.publish": _l("Information desk: publish job offers"),
        "desk.directory.edit": _l("Information desk: edit the directory entry"),
        "desk.events.publish": _l("Information desk: publish events of the agenda"),
        "desk.library": _l("Information desk: manage the organisation's documents library"),
    },
    nav=[NavEntry(_l("News"), "desk.news_list"), NavEntry(_l("Forum"), "desk.forum_index"),
         NavEntry(_l("Search"), "desk.search_page"),
         NavEntry(_l("Publish"), "desk.publish", "desk.publish"), NavEntry(_l("E-mail digest"), "desk.digest"),
         NavEntry(_l("Job offers"), "desk.jobs_list"), NavEntry(_l("Directory"), "desk.directory_index"),
         NavEntry(_l("Agenda"), "desk.agenda_list"),
         NavEntry(_l("Documents"), "desk.library_index"), NavEntry(_l("Legal sheets"), "desk.sheets_index")],
    department_nav=[NavEntry(_l("News"), "desk.news_list"), NavEntry(_l("Forum"), "desk.forum_index"),
                    NavEntry(_l("Moderation"), "desk_department.forum", "desk.moderate"),
                    NavEntry(_l("Partners"), "desk_department.partners", "desk.partners.manage"),
                    NavEntry(_l("Job offers"), "desk.jobs_list"), NavEntry(_l("Agenda"), "desk.agenda_list"),
                    NavEntry(_l("Documents"), "desk.library_index"), NavEntry(_l("Legal sheets"), "desk.sheets_index")],
    home_panel=news_panel,
    tasks=("services.desk.tasks",),
    beat_schedule={"desk-digests": {"task": "desk.send_digests", "schedule": dt.timedelta(hours=1)},
                   "desk-close-job-offers": {"task": "desk.close_job_offers", "schedule": dt.timedelta(hours=1)},
                   "desk-event-reminders": {"task": "desk.send_event_reminders", "schedule": dt.timedelta(hours=1)}},
    models=("services.desk.models", "services.desk.models_public", "services.desk.library_models"),
    migrations=service_folder(__file__, "migrations"),
    settings=(
        Setting("DESK_STORAGE_DIR", "", "folder of the documents library's files and the fiches' model documents "
                                        "(empty: instance/desk/files); shared by every host, backed up with the "
                                        "database"),
        Setting("DESK_MAX_UPLOAD_MB", 20, "largest file of the documents library or model document, in MB"),
    ),
    audit_labels={
        "desk.partner_created": _l("Information desk: partner added"),
        "desk.news_published": _l("Information desk: news published"),
        "desk.news_edited": _l("Information desk: news edited"),
        "desk.news_withdrawn": _l("Information desk: news withdrawn"),
        "desk.digest_changed": _l("Information desk: e-mail digest choice changed"),
        "desk.forum_category_created": _l("Forum: category added"),
        "desk.forum_thread_created": _l("Forum: question asked"),
        "desk.forum_answered": _l("Forum: answer written"),
        "desk.forum_solution": _l("Forum: answer marked as the solution"),
        "desk.forum_reported": _l("Forum: message reported"),
        "desk.forum_moderated": _l("Forum: moderation"),
        "desk.job_published": _l("Job offers: offer published"),
        "desk.job_edited": _l("Job offers: offer edited"),
        "desk.job_closed": _l("Job offers: offer closed"),
        "desk.directory_edited": _l("Directory: entry edited"),
        "desk.directory_person_added": _l("Directory: elected official added"),
        "desk.directory_person_removed": _l("Directory: elected official removed"),
        "desk.directory_person_changed": _l("Directory: elected official shown or hidden"),
        "desk.event_published": _l("Agenda: event published"),
        "desk.event_edited": _l("Agenda: event edited"),
        "desk.event_cancelled": _l("Agenda: event cancelled"),
        "desk.event_registered": _l("Agenda: registration"),
        "desk.event_unregistered": _l("Agenda: registration cancelled"),
        "desk.folder_created": _l("Documents: folder created"),
        "desk.folder_edited": _l("Documents: folder changed"),
        "desk.folder_deleted": _l("Documents: folder deleted"),
        "desk.document_uploaded": _l("Documents: document added"),
        "desk.document_versioned": _l("Documents: new version uploaded"),
        "desk.document_edited": _l("Documents: document changed"),
        "desk.document_deleted": _l("Documents: document deleted"),
        "desk.sheet_published": _l("Legal sheets: sheet published"),
        "desk.sheet_edited": _l("Legal sheets: sheet updated"),
        "desk.sheet_withdrawn": _l("Legal sheets: sheet withdrawn"),
        "desk.sheet_model_added": _l("Legal sheets: model document attached"),
        "desk.sheet_model_removed": _l("Legal sheets: model document removed"),
    },
    audit_detail_labels={"title": _l("title"), "audience": _l("audience"), "frequency": _l("frequency"),
                         "action_taken": _l("action"), "closes_on": _l("closing date"), "reason": _l("reason"),
                         "fields": _l("fields"), "starts_at": _l("start"),
                         "published": _l("shown to residents"),
                         "name": _l("name"), "readers": _l("who may read"), "readers_before": _l("readers before"),
                         "filename": _l("file"), "folder": _l("folder"), "sha256": _l("SHA-256 fingerprint"),
                         "version": _l("version"), "note": _l("what changed"), "versions": _l("versions"),
                         "theme": _l("theme"), "parent": _l("parent folder")},
)
