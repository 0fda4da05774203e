"""What a message of the service says and how its e-mail is built: the SMS text (commune, text, link to the
resident's data, STOP mention), the e-mail with ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` (RFC 8058) for list
messages and a Message-ID derived from the delivery's idempotency key, and :class:`EmailTemplate`, the same e-mail
prepared once per alert and rendered per recipient for the fast sending path."""
from __future__ import annotations

import base64
import datetime as dt
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import db
from portal.mail import sender_for
from portal.models import Collectivity
from portal.settings import setting
from portal.typography import de
from portal.urls import absolute_url

from .models import SHORT_LENGTH, Alert, Delivery, Subscriber
from .receipts import MAILIN_PREFIX


def public_url(endpoint: str, **values) -> str:
    """An absolute link for messages, in a request or in a worker (BASE_URL)."""
    return absolute_url(endpoint, **values)


def commune_name(insee: str) -> str:
    return db.session.scalar(select(Collectivity.name).where(Collectivity.insee == insee)) or insee


def stop_mention() -> str:
    return setting("ALERTS_SMS_STOP_MENTION") or _("Unsubscribe: reply STOP")


def manage_link(short_code: str) -> str:
    """The short link of a list SMS to the resident's data page (see, change, delete)."""
    return public_url("alerts_public.short_manage", code=short_code)


def sms_text(alert: Alert, commune: str, short_code: str | None = None) -> str:
    """What an SMS says: the commune, the text, and for list messages a short link to the resident's data and the
    STOP mention last. Without ``short_code`` (counting, preview) the link is written with a code of the same
    length, so the count is the one every recipient gets."""
    text = f"{commune} : {alert.body.strip()}"
    if alert.kind == "broadcast":
        data_line = _("Your data: %(url)s", url=manage_link(short_code or "x" * SHORT_LENGTH))
        text += f"\n{data_line}\n{stop_mention()}"
    # French typography puts no-break spaces before « : ; ? ! »; GSM 03.38 has none, and a single one would turn the
    # whole SMS into UCS-2 (70 characters a segment instead of 160).
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def message_id(key: str) -> str:
    domain = (current_app.config.get("MAIL_SENDER") or "").rsplit("@", 1)[-1].strip("> ") or "extranet.localhost"
    return f"<alert-{key}@{domain}>"


TOKEN_SLOT = "__subscriber_token__"


def link_templates(insee: str) -> dict[str, str]:
    """The three links of a list e-mail with a slot for the subscriber's token, built once per batch (building a URL
    outside a request costs a request context each time)."""
    return {name: public_url(f"alerts_public.{name}", insee=insee, token=TOKEN_SLOT)
            for name in ("unsubscribe", "one_click", "manage")}


def sender_of(insee: str) -> str:
    """The address the residents' e-mails come from, under the portal name of the commune's département (its INSEE
    code's first two characters, three overseas): a second département's residents never read another one's name."""
    code = insee[:3] if insee.startswith("97") else insee[:2]
    return sender_for(code)


def build_email(d: Delivery, alert: Alert, sub: Subscriber | None, commune: str,
                links: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender_of(alert.commune_insee)
    msg["To"] = d.address
    msg["Subject"] = f"{commune} — {alert.title}"
    msg["Message-ID"] = message_id(d.key)
    # Handed back by Brevo's SMTP relay in its webhook events: the bounce or complaint names its row exactly.
    msg["X-Mailin-custom"] = f"{MAILIN_PREFIX}{d.key}"
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    lines = [alert.body.strip(), "", "—", _("Mairie %(of_commune)s", commune=commune, of_commune=de(commune))]
    if alert.kind == "broadcast" and sub is not None:
        links = links or link_templates(alert.commune_insee)
        unsubscribe, one_click, manage = (links[k].replace(TOKEN_SLOT, sub.token)
                                          for k in ("unsubscribe", "one_click", "manage"))
        lines += ["", _("You receive this message because you subscribed to the alerts of your commune."),
                  _("Stop receiving these messages: %(url)s", url=unsubscribe),
                  _("See, change or delete your data: %(url)s", url=manage)]
        msg["List-Unsubscribe"] = f"<{one_click}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["List-Id"] = f"<alerts.{alert.commune_insee}.{(current_app.config.get('BASE_URL') or 'localhost').split('//')[-1].split('/')[0].split(':')[0]}>"
    elif alert.legal_basis:
        lines += ["", _("Legal basis of this message: %(basis)s", basis=alert.legal_basis)]
    msg.set_content("\n".join(lines))
    return msg


class EmailTemplate:
    """The e-mail of one alert, prepared once and rendered per recipient as ready-to-send bytes.

    The messages of a list alert differ only by the recipient, the Message-ID, the date and the subscriber's token in
    the links: the headers that never change (From, Subject, List-Id… encoded by the e-mail package once) and the
    body text are prepared here; :meth:`render` fills in the rest and encodes the body in base64, so the token can be
    placed in the text before encoding. The rendered message is the one :func:`build_email` builds (same headers,
    same text; tests compare them). Addresses that are not plain ASCII go through :func:`build_email`."""

    def __init__(self, alert: Alert, commune: str, links: dict[str, str] | None):
        sample = build_email(SimpleNamespace(key=TOKEN_SLOT, address="slot@example.invalid"), alert,
                             SimpleNamespace(token=TOKEN_SLOT) if alert.kind == "broadcast" else None, commune, links)
        self.envelope_from = parseaddr(str(sample["From"]))[1]
        self.text = sample.get_content()
        self.one_click = str(sample["List-Unsubscribe"]) if sample["List-Unsubscribe"] else ""
        self.personal = TOKEN_SLOT in self.text
        static = EmailMessage(policy=email_policy.SMTP)
        for name in ("From", "Subject", "List-Unsubscribe-Post", "List-Id"):
            if sample[name]:
                static[name] = sample[name]
        static["MIME-Version"] = "1.0"
        static["Content-Type"] = 'text/plain; charset="utf-8"'
        static["Content-Transfer-Encoding"] = "base64"
        self.static = bytes(static).split(b"\r\n\r\n", 1)[0] + b"\r\n"
        self.message_id = message_id(TOKEN_SLOT)
        self.body = None if self.personal else self._encode(self.text)

    @staticmethod
    def _encode(text: str) -> bytes:
        # Text in canonical form (CRLF line ends) before base64, as RFC 2045 §6.8 asks.
        return base64.encodebytes(text.replace("\n", "\r\n").encode("utf-8")).replace(b"\n", b"\r\n")

    @staticmethod
    def fits(address: str) -> bool:
        return address.isascii() and "\r" not in address and "\n" not in address

    def render(self, key: str, address: str, token: str | None) -> bytes:
        head = [f"To: {address}", f"Message-ID: {self.message_id.replace(TOKEN_SLOT, key)}",
                f"X-Mailin-custom: {MAILIN_PREFIX}{key}",
                f"Date: {format_datetime(dt.datetime.now(dt.timezone.utc))}"]
        if self.one_click and token:
            head.append(f"List-Unsubscribe: {self.one_click.replace(TOKEN_SLOT, token)}")
        body = self.body if self.body is not None else self._encode(self.text.replace(TOKEN_SLOT, token or ""))
        return ("\r\n".join(head) + "\r\n").encode("ascii") + self.static + b"\r\n" + body
