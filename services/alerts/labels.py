"""French words for the service's codes: statuses of alerts and deliveries, reasons of failures."""
from __future__ import annotations

from flask_babel import gettext as _


def status_label(status: str) -> str:
    labels = {"pending": _("Pending"), "sending": _("Sending"), "sent": _("Sent, waiting for receipt"),
              "delivered": _("Delivered"), "failed": _("Failed"), "cancelled": _("Not sent"),
              "scheduled": _("Scheduled"), "queued": _("Sent")}
    return labels.get(status, status)


def reason_label(reason: str) -> str:
    labels = {"address_refused": _("Address refused by the mail server"),
              "invalid_address": _("Not a valid e-mail address: not sent"),
              "send_error": _("Could not be sent (unexpected error, recorded for the department)"),
              "invalid_number": _("Invalid or unreachable number"),
              "retries_exhausted": _("Still unreachable after several attempts"),
              "temporary": _("Temporary problem, will retry"), "unsubscribed": _("Unsubscribed in the meantime"),
              "alert_cancelled": _("Alert cancelled"), "refused": _("Refused by the SMS provider"),
              "provider_auth": _("SMS provider account refused (contact the department)"),
              "provider_config": _("SMS provider not configured (contact the department)"),
              "not_delivered": _("Not delivered by the operator"),
              "hard_bounce": _("Address does not exist (returned by the mail server)"),
              "spam_complaint": _("The resident marked the message as spam: no more e-mails"),
              "soft_bounce": _("Not delivered for now (mailbox full, phone off): will retry")}
    return labels.get(reason, reason)
