"""Legality control (« Actes »): the mairie (or EPCI) deposits an act, the pre-flight checks refuse what the
préfecture would refuse, the act is sent through the department's tiers de télétransmission (S²LOW's HTTP API) as
an ACTES 1.1 transmission validated against its schema, the acknowledgement (ARActe) and the préfecture's letters
come back, the act is stamped and, unless individual, published on the commune's public page (/p/actes/<insee>/)
with the délibérations as SCDL open data. The séances of the council (``seances.py``) carry the délibérations' votes,
the liste des délibérations and the procès-verbal published on the same page, and the registre des délibérations;
scans are made searchable by ``ocr.py``; ``home.py`` is the home page's panel of what waits.

Acts are data of their collectivity (``access.py``); ``actes.read`` to see them, ``actes.write`` to deposit,
``actes.sign`` to sign (PAdES, ``signature.py``), ``actes.send`` to send, cancel and answer.

Settings: declared below (``settings``), read with ``portal.settings.setting``.
"""
import datetime as dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .cli import cli
from .home import home_panel
from .views.api import api_bp
from .views.department import department_bp
from .views.pages import bp
from .views.public import public_bp
from .views import seances as _seance_views  # noqa: F401 - adds the séances' routes to bp and public_bp

service = ServiceDescriptor(
    slug="actes",
    name=_l("Legality control"),
    description=_l("Check, send and follow the acts sent to the préfecture, and publish them."),
    icon="file",
    blueprint=bp,
    api_blueprint=api_bp,
    public_blueprint=public_bp,
    department_blueprint=department_bp,
    department_nav=[NavEntry(_l("Legality control"), "actes_department.overview")],
    index_endpoint="actes.index",
    access_permission="actes.read",
    permissions={
        "actes.read": ("mayor", "secretary", "elected"),
        "actes.write": ("mayor", "secretary"),
        "actes.sign": ("mayor",),
        "actes.send": ("mayor",),
    },
    permission_labels={"actes.read": _l("Legality control: see the acts"),
                       "actes.write": _l("Legality control: deposit acts"),
                       "actes.sign": _l("Legality control: sign acts"),
                       "actes.send": _l("Legality control: send acts to the préfecture, cancel, answer")},
    grantable=("actes.write", "actes.sign", "actes.send"),
    nav=[NavEntry(_l("Acts"), "actes.index"), NavEntry(_l("Deposit an act"), "actes.deposit", "actes.write"),
         NavEntry(_l("Council séances"), "actes.seances_index")],
    home_panel=home_panel,
    cli=cli,
    tasks=("services.actes.tasks",),
    beat_schedule={"actes-poll": {"task": "actes.poll", "schedule": dt.timedelta(minutes=5)},
                   "actes-certificate-reminders": {"task": "actes.certificate_reminders",
                                                   "schedule": dt.timedelta(hours=24)}},
    models=("services.actes.models",),
    migrations=service_folder(__file__, "migrations"),
    settings=(
        Setting("ACTES_TDT_URL", "", "base URL of the tiers de télétransmission (S²LOW HTTP API)"),
        Setting("ACTES_TDT_CLIENT_CERT", "", "PEM file of the TLS client certificate (with its key unless "
                                             "ACTES_TDT_CLIENT_KEY)"),
        Setting("ACTES_TDT_CLIENT_KEY", "", "PEM file of the client certificate's private key, when apart"),
        Setting("ACTES_TDT_CA_FILE", "", "CA file to verify the TdT's server certificate (empty: the system's)"),
        Setting("ACTES_TDT_LOGIN", "", "basic authentication user on the TdT, when it asks for one"),
        Setting("ACTES_TDT_PASSWORD", "", "basic authentication password on the TdT"),
        Setting("ACTES_TDT_TIMEOUT", 30.0, "seconds to wait for the TdT"),
        Setting("ACTES_TDT_DEPARTMENT_FALLBACK", True, "a collectivity whose certificate the department does not "
                                                        "hold sends with the department's (ACTES_TDT_CLIENT_CERT)"),
        Setting("ACTES_CREDENTIAL_KEY", "", "32 bytes, base64: key sealing the collectivities' TdT certificates "
                                            "and keys in the database (empty: derived from SECRET_KEY)"),
        Setting("ACTES_STORAGE_DIR", "", "folder of the acts' files (empty: instance/actes/files); shared by "
                                         "web and worker hosts, backed up with the database"),
    ),
    audit_labels={
        "actes.act_created": _l("Legality control: act deposited as a draft"),
        "actes.act_sent": _l("Legality control: act sent to the préfecture"),
        "actes.act_retried": _l("Legality control: act sent again"),
        "actes.act_visa": _l("Legality control: act approved (visa)"),
        "actes.act_signed": _l("Legality control: act signed"),
        "actes.act_cancelled": _l("Legality control: transmission cancelled"),
        "actes.ar_received": _l("Legality control: acknowledgement of the préfecture received"),
        "actes.reply_received": _l("Legality control: letter of the préfecture received"),
        "actes.reply_answered": _l("Legality control: letter of the préfecture answered"),
        # Séances, liste des délibérations, procès-verbal, OCR
        "actes.seance_created": _l("Legality control: council séance recorded"),
        "actes.seance_updated": _l("Legality control: council séance changed"),
        "actes.seance_deleted": _l("Legality control: council séance deleted"),
        "actes.deliberation_voted": _l("Legality control: vote of a délibération recorded"),
        "actes.deliberation_removed": _l("Legality control: délibération taken out of its séance"),
        "actes.list_published": _l("Legality control: liste des délibérations published"),
        "actes.pv_uploaded": _l("Legality control: procès-verbal of a séance uploaded"),
        "actes.pv_published": _l("Legality control: procès-verbal adopted and published"),
        "actes.ocr_requested": _l("Legality control: text recognition of a scan asked"),
        "actes.ocr_done": _l("Legality control: scan made searchable (text recognition)"),
        "actes.ocr_failed": _l("Legality control: text recognition of a scan failed"),
        # The department as tiers de télétransmission
        "actes.tdt_account_saved": _l("Legality control: TdT account of a collectivity saved"),
        "actes.classification_fetched": _l("Legality control: classification of the préfecture fetched"),
        "actes.classification_uploaded": _l("Legality control: classification of the préfecture uploaded from a "
                                            "file"),
        "actes.seance_convened": _l("Legality control: convocation of a séance sent"),
        "actes.quorum_checked": _l("Legality control: quorum of a séance checked"),
        "actes.certificate_reminder_sent": _l("Legality control: reminder of a TdT certificate's expiry sent"),
    },
    audit_detail_labels={"number": _l("number"), "unique_id": _l("unique identifier"), "kind": _l("kind"),
                         "held_on": _l("date of the séance"), "votes_for": _l("votes for"),
                         "votes_against": _l("votes against"), "abstentions": _l("abstentions"),
                         "result": _l("result"), "late": _l("after the deadline"), "filename": _l("file"),
                         "adopted_on": _l("adopted at the séance of"), "pages": _l("pages"),
                         "reason": _l("reason"), "pieces": _l("additional documents"),
                         "prefecture": _l("préfecture"), "fields": _l("fields changed"),
                         "serial": _l("certificate serial number"), "expires_on": _l("certificate expiry"),
                         "paid_by_department": _l("paid by the department"), "version": _l("version"),
                         "days": _l("days before the expiry"), "recipients": _l("recipients"),
                         "matieres": _l("matières"), "sent_on": _l("convocation sent on"),
                         "subjects": _l("subjects on the order of the day"),
                         "second_convocation": _l("second convocation"), "present": _l("members present"),
                         "needed": _l("members needed"), "reached": _l("quorum reached")},
)
