"""Citizen alerts: residents subscribe to the lists of their commune (double opt-in, consent records,
one-click unsubscribe, STOP); the mairie sends alerts by e-mail and SMS through the outbox and Celery, follows their
delivery, and each list alert is published as CAP 1.2 and in an Atom feed per commune.

Subscribers are personal data of their commune: ``alerts.read`` / ``alerts.send`` holders of that commune only.

The webhooks of the providers: SMS receipts, bounces and STOP replies at ``/p/alerts/webhooks/sms/<provider>``,
e-mail bounces and complaints of Brevo's SMTP relay at ``/p/alerts/webhooks/email/brevo``. Brevo authenticates with
``Authorization: Bearer <secret>`` (webhook created with a bearer token), Basic authentication with the secret as
password, or ``?secret=`` (the callback URL given with each SMS); http_json with ``X-Signature`` = hex HMAC-SHA256
of the body. Without ``ALERTS_WEBHOOK_SECRET`` every webhook call is refused.

The descriptor below declares everything the portal needs: permissions, navigation, audit labels, settings (read
with ``portal.settings.setting``), the OpenAPI part (:mod:`schemas`), migrations, tasks and beat.
"""
import datetime as dt

from flask_babel import lazy_gettext as _l

from portal.registry import NavEntry, ServiceDescriptor, service_folder
from portal.settings import Setting

from .schemas import DEFAULT_SMS_COUNTRIES, OPENAPI_PATHS

from .cli import cli
from .geocode import DEFAULT_URL as DEFAULT_GEOCODER_URL
from .views import api_bp, bp, department_bp, public_bp

SETTINGS = (
    Setting("ALERTS_SMS_PROVIDER", "log", "SMS provider: `brevo` (Brevo transactional SMS API), `http_json` (generic "
            "gateway) or `log` (the SMS is written to the log, nothing is sent)"),
    Setting("ALERTS_SMS_URL", "", "endpoint of the SMS provider (Brevo's by default)"),
    Setting("ALERTS_SMS_API_KEY", "", "API key of the SMS provider"),
    Setting("ALERTS_SMS_SENDER", "Mairie", "sender name of the SMS (11 characters)"),
    Setting("ALERTS_SMS_TIMEOUT", 10.0, "seconds to wait for the SMS provider"),
    Setting("ALERTS_SMS_RATE", 10.0, "SMS per second to the provider, all workers and hosts together (shared "
            "through Redis when `REDIS_URL` is set, else the database)"),
    Setting("ALERTS_SMS_BURST", 1, "SMS that may leave at once"),
    Setting("ALERTS_SMS_PRICE", 0.05, "€ per SMS segment, for the cost estimate"),
    Setting("ALERTS_SMS_STOP_MENTION", "", "end of list SMS (empty: « Désinscription : répondez STOP »)"),
    Setting("ALERTS_SMS_COUNTRIES", ",".join(DEFAULT_SMS_COUNTRIES),
            "countries whose mobile numbers may receive SMS (phonenumbers region codes: metropolitan France and "
            "the overseas départements by default)"),
    Setting("ALERTS_WEBHOOK_SECRET", "", "shared secret of the provider webhooks (empty: every call refused)"),
    Setting("ALERTS_DEFAULT_SMS_QUOTA", None, "monthly SMS segments of a commune the department set no allowance "
            "for (empty: no limit)"),
    Setting("ALERTS_GEOCODER_URL", DEFAULT_GEOCODER_URL, "BAN address search for alerts to a zone (empty: off)"),
    Setting("ALERTS_GEOCODER_TIMEOUT", 5.0, "seconds to wait for the geocoder"),
)

service = ServiceDescriptor(
    slug="alerts",
    name=_l("Citizen alerts"),
    description=_l("Send SMS and e-mail alerts to the residents who subscribed, one by one or all at once."),
    icon="bell",
    blueprint=bp,
    api_blueprint=api_bp,
    public_blueprint=public_bp,
    index_endpoint="alerts.index",
    access_permission="alerts.read",
    collectivity_kinds=("commune",),  # an EPCI has no residents list of its own
    permissions={
        "alerts.read": ("mayor", "secretary"),
        "alerts.send": ("mayor", "secretary"),
    },
    permission_labels={"alerts.read": _l("Citizen alerts: see subscribers and alerts"),
                       "alerts.send": _l("Citizen alerts: send messages")},
    department_blueprint=department_bp,
    department_nav=[NavEntry(_l("Citizen alerts"), "alerts_department.overview")],
    nav=[NavEntry(_l("Alerts"), "alerts.index"), NavEntry(_l("New alert"), "alerts.compose", "alerts.send"),
         NavEntry(_l("Message to one person"), "alerts.individual", "alerts.send")],
    cli=cli,
    tasks=("services.alerts.tasks",),
    beat_schedule={"alerts-flush": {"task": "alerts.flush", "schedule": dt.timedelta(seconds=60)}},
    models=("services.alerts.models",),
    migrations=service_folder(__file__, "migrations"),
    settings=SETTINGS,
    openapi={"paths": OPENAPI_PATHS},
    audit_labels={
        "alerts.subscriber_created": _l("Citizen alerts: resident subscribed"),
        "alerts.subscriber_confirmed": _l("Citizen alerts: resident's address confirmed"),
        "alerts.subscriber_changed": _l("Citizen alerts: resident changed their choices"),
        "alerts.subscriber_unsubscribed": _l("Citizen alerts: resident unsubscribed"),
        "alerts.subscriber_deleted": _l("Citizen alerts: resident deleted their data"),
        "alerts.subscribers_viewed": _l("Citizen alerts: list of subscribers consulted"),
        "alerts.channel_invalid": _l("Citizen alerts: address or number unreachable, no more sending to it"),
        "alerts.list_created": _l("Citizen alerts: list created"),
        "alerts.alert_sent": _l("Citizen alerts: alert sent"),
        "alerts.alert_cancelled": _l("Citizen alerts: scheduled alert cancelled"),
        "alerts.individual_sent": _l("Citizen alerts: message to one person sent"),
        "alerts.sms_quota_set": _l("Citizen alerts: SMS allowance set"),
    },
    audit_detail_labels={
        "channel": _l("channel"), "reason": _l("reason"), "lists": _l("lists"), "recipients": _l("recipients"),
        "monthly_segments": _l("segments per month"), "previous": _l("before"), "legal_basis": _l("legal basis"),
        "msg_type": _l("message type"), "references": _l("earlier alert"), "title": _l("title"),
        "zone": _l("zone"), "channels": _l("channels"), "scheduled": _l("scheduled for"), "model": _l("model"),
        "count": _l("number"), "commune": _l("commune"), "name": _l("name"),
    },
)
