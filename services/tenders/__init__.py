"""Public tenders — Draft a tender step by step, publish it and follow it until the award. (issue #5).

- ``rules``: the rules engine (thresholds are data in ``data/thresholds.json``, each row with its source);
- ``wizard``: the six steps (need, amount, procedure, publicity and deadlines, criteria, documents) and the checks
  done before publication; ``views``: the staff pages (/s/tenders/), autosaved at every step;
- ``documents``: RC, AAPC, acte d'engagement per lot, CCAP skeleton as PDF / .docx / .odt, and the DCE zip;
- ``public``: the public pages (/p/tenders/): open consultations, DCE, questions and answers, Atom feed, DECP;
- ``api``: JSON API (/api/v1/tenders/): the collectivity's consultations and the rules engine;
- ``opendata``: DECP v2.0.3 and OCDS release, validated against the shipped schemas;
- ``cpv``: the CPV list (search, labels, check digit); ``ending``: correction notices and the end of a procedure
  (infructueuse / sans suite); ``storage``: attachments and DCE zips on disk (TENDERS_STORAGE_DIR).

Tenders belong to the buying collectivity (commune or EPCI): see ``models`` and ``access``.
"""
import datetime as dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder

from .api import api_bp
from .cli import cli
from .public import public_bp
from .views import bp

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
    },
    permission_labels={"tenders.publish": _l("Public tenders: publish a consultation and record its award")},
    grantable=("tenders.publish",),
    nav=[NavEntry(_l("My consultations"), "tenders.index"), NavEntry(_l("Thresholds"), "tenders.thresholds")],
    cli=cli,
    tasks=("services.tenders.tasks",),
    # consultations close themselves at their deadline even when nobody opens a page (the pages close them too)
    beat_schedule={"tenders-close-expired": {"task": "tenders.close_expired", "schedule": dt.timedelta(minutes=5)}},
    models=("services.tenders.models",),
    migrations=service_folder(__file__, "migrations"),
)
