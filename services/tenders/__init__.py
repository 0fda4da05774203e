"""Public tenders — draft a tender step by step, publish it and follow it until the award.

- ``rules``: the rules engine (thresholds are data in ``data/thresholds.json``, each row with its source);
- ``wizard``: the six steps (need, amount, procedure, publicity and deadlines, criteria, documents) and the checks
  done before publication; ``schemas``: what the forms and the API accept (the API's parameters as published);
- ``access``: who owns a tender (the ``*_or_404`` lookups); ``operations``: the writes shared by the pages, the CLI
  and the Celery task (closing expired consultations, drafts, correction notices, awards);
- ``views``: ``pages`` (staff, /s/tenders/, autosaved at every step), ``public`` (/p/tenders/: open consultations,
  DCE, questions and answers, Atom feed, DECP, OCDS), ``api`` (/api/v1/tenders/: consultations and the rules engine);
- ``documents``: RC, AAPC, acte d'engagement per lot, CCAP skeleton as PDF / .docx / .odt, and the DCE zip;
- ``opendata``: DECP v2.0.3 and OCDS release, validated against the shipped schemas;
- ``cpv``: the CPV list (search, labels, check digit); ``ending``: correction notices and the end of a procedure
  (infructueuse / sans suite); ``storage``: attachments and DCE zips on disk (TENDERS_STORAGE_DIR).

Tenders belong to the buying collectivity (commune or EPCI): see ``models`` and ``access``.
"""
import datetime as dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .cli import cli
from .schemas import OPENAPI
from .views.api import api_bp
from .views.pages import bp
from .views import bids as _bids  # noqa: F401,E402 - adds the bids pages to bp
from .views.public import public_bp

service = ServiceDescriptor(
    slug="tenders",
    name=_l("Public tenders"),
    description=_l("Draft a tender step by step, publish it and follow it until the award."),
    icon="file",
    blueprint=bp,
    api_blueprint=api_bp,
    public_blueprint=public_bp,
    index_endpoint="tenders.index",
    access_permission="tenders.read",
    permissions={
        "tenders.read": ("mayor", "secretary", "elected"),
        "tenders.write": ("mayor", "secretary"),
        "tenders.publish": ("mayor",),
        "tenders.open": ("mayor",),
    },
    permission_labels={"tenders.publish": _l("Public tenders: publish a consultation and record its award"),
                       "tenders.open": _l("Public tenders: open the bids after the deadline")},
    grantable=("tenders.publish", "tenders.open"),
    nav=[NavEntry(_l("My consultations"), "tenders.index"), NavEntry(_l("Thresholds"), "tenders.thresholds")],
    cli=cli,
    tasks=("services.tenders.tasks",),
    # consultations close themselves at their deadline even when nobody opens a page (the pages close them too)
    beat_schedule={"tenders-close-expired": {"task": "tenders.close_expired", "schedule": dt.timedelta(minutes=5)}},
    models=("services.tenders.models", "services.tenders.companies", "services.tenders.deposits",
            "services.tenders.opening", "services.tenders.analysis", "services.tenders.exchanges"),
    migrations=service_folder(__file__, "migrations"),
    settings=(
        Setting("TENDERS_OCDS_PREFIX", "", "OCDS prefix registered by the department (empty: the unregistered "
                                           "ocds-xxxxxx)"),
        Setting("TENDERS_STORAGE_DIR", "", "folder of attachments, DCE zips and sealed bids (empty: "
                                           "instance/tenders/files); shared by every host, backed up with the "
                                           "database"),
        Setting("TENDERS_MAX_ATTACHMENT_MB", 10, "largest attachment or bid file, in MB"),
        Setting("TENDERS_MAX_DCE_MB", 100, "all the attachments of one consultation, in MB"),
        Setting("TENDERS_CPV_FILE", "", "CPV list written by `flask tenders cpv-import` (empty: "
                                        "instance/tenders/cpv.csv.gz, else the shipped list)"),
        Setting("TENDERS_SIRENE_URL", "https://recherche-entreprises.api.gouv.fr", "the « Recherche "
                "d'entreprises » API that lists the collectivity's establishments for step 6 (sirene.py)"),
        Setting("TENDERS_SIRENE_TIMEOUT_S", 4.0, "seconds before the SIRENE register is given up (the SIRET is "
                                                 "then typed by hand)"),
        Setting("TENDERS_SIRENE_CACHE_S", 86400, "seconds an answer of the SIRENE register is kept, per SIREN"),
        Setting("TENDERS_SEAL_KEY", "", "key that seals each consultation's private key until the deadline: 32 "
                                        "random bytes, base64 (empty: derived from SECRET_KEY); keep it out of the "
                                        "database and its backups"),
    ),
    openapi=OPENAPI,
    audit_labels={
        "tenders.created": _l("Public tenders: consultation drafted"),
        "tenders.deleted": _l("Public tenders: draft deleted"),
        "tenders.published": _l("Public tenders: consultation published"),
        "tenders.corrected": _l("Public tenders: correction notice published"),
        "tenders.closed": _l("Public tenders: consultation closed at its deadline"),
        "tenders.ended": _l("Public tenders: procedure ended without a contract"),
        "tenders.awarded": _l("Public tenders: award recorded"),
        "tenders.attachment_added": _l("Public tenders: document added to the consultation"),
        "tenders.attachment_deleted": _l("Public tenders: document removed from the consultation"),
        "tenders.question_answered": _l("Public tenders: answer to a question published"),
        "tenders.bid_file_opened": _l("Public tenders: bid file opened after the deadline"),
        "tenders.bid_file_broken": _l("Public tenders: bid file that does not match its fingerprint"),
        "tenders.opened": _l("Public tenders: bids opened after the deadline"),
        "tenders.scored": _l("Public tenders: scoring grid of a lot saved"),
        "tenders.decided": _l("Public tenders: lot awarded, rejected candidates informed"),
        "tenders.register_downloaded": _l("Public tenders: register downloaded"),
        "tenders.exchange_sent": _l("Public tenders: request sent to a candidate"),
        "tenders.exchange_answered": _l("Public tenders: a candidate answered a request"),
    },
    audit_detail_labels={
        "reference": _l("reference"),
        "changes": _l("changes"),
        "outcome": _l("outcome"),
        "reason": _l("reason"),
        "ended_on": _l("ended on"),
        "filename": _l("file"),
        "size": _l("size (bytes)"),
        "sha256": _l("SHA-256 fingerprint"),
        "question": _l("question"),
        "lot": _l("lot"),
        "holder_siret": _l("SIRET of the holder"),
        "amount": _l("amount excluding tax"),
        "bid": _l("deposit"),
        "company_siret": _l("SIRET of the company"),
        "bids": _l("bids"),
        "flagged": _l("flagged files"),
        "late": _l("bids received out of time"),
        "offers": _l("offers"),
        "register": _l("register"),
        "format": _l("format"),
        "kind": _l("kind"),
    },
)
