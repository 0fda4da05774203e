"""What providers tell us after sending: delivery receipts, bounces, complaints, STOP replies.

Each provider's webhook payload is read into one :class:`ProviderEvent`, and :func:`apply_event` acts on it:

- ``delivered``: the row is delivered (an SMS receipt; an e-mail is already "delivered" once the SMTP server took it);
- ``soft_bounce`` (mailbox full, phone off for too long…): the message is sent again later, with the same exponential
  backoff as a temporary send error, until ``delivery.MAX_ATTEMPTS``; then it fails for good;
- ``hard_bounce`` (address or number that does not exist) and ``complaint`` (the resident marked the e-mail as spam):
  the row fails and the resident's channel is marked invalid — nothing is sent to it any more, the mairie sees it on
  its subscribers page and on the alert's follow-up, and an audit event records it;
- ``refused`` (the provider would not send it: blocked content, blacklisted sender…): the row fails, the address stays;
- ``stop``: a STOP reply (or the provider's own opt-out) ends every subscription of that number.

Brevo payloads, as documented (https://developers.brevo.com/docs/transactional-webhooks):

- transactional SMS: ``{"id": <webhook id>, "to": "33612345678", "sms_count": 1, "credits_used": 1.5,
  "messageId": 123, "remaining_credit": 1148.8, "msg_status": "sent", "date": "…", "type": "transactional",
  "reference": "…"}`` with ``msg_status`` among sent, delivered, soft_bounce, hard_bounce; the SMS event list also
  names accepted, replied (text in ``reply``), subscribe, unsubscribe, skip, blacklisted and rejected (the same
  names as the ``event`` of ``GET /v3/transactionalSMS/statistics/events``, which writes them softBounce /
  hardBounce: both spellings are read);
- transactional e-mail (also sent for messages relayed by Brevo's SMTP server): ``{"event": "hard_bounce",
  "email": "…", "id": <webhook id>, "date": "…", "ts": …, "message-id": "…", "ts_event": …, "subject": "…",
  "X-Mailin-custom": "…", "reason": "…", "tags": […]}`` with ``event`` among request, delivered, deferred,
  soft_bounce, hard_bounce, invalid_email, blocked, error, spam, unsubscribed, click, opened… We put the delivery's
  idempotency key in the ``X-Mailin-custom`` header of every alert e-mail, so the event names its row exactly.

Events may come one per call or as a JSON array (Brevo's batched webhooks).
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import AuditEvent, Collectivity

from . import sms as smsmod
from .models import Delivery, Subscriber, utcnow

log = logging.getLogger("services.alerts.receipts")

MAILIN_PREFIX = "alerts-delivery:"  # value of the X-Mailin-custom header: prefix + delivery key


@dataclass
class ProviderEvent:
    channel: str  # "sms" or "email"
    kind: str  # delivered, soft_bounce, hard_bounce, complaint, refused, stop, ignored
    provider: str
    message_id: str = ""
    key: str = ""  # our delivery key, when the provider hands it back
    address: str = ""  # E.164 number or e-mail address (lower case)
    reason: str = ""  # the provider's words, for the log and the row's last error
    at: dt.datetime | None = None  # when it happened (naive UTC), when the provider says


# Brevo -------------------------------------------------------------------------------------------------------------

def _norm(name) -> str:
    return str(name or "").strip().lower().replace("_", "").replace("-", "")


BREVO_SMS_KINDS = {
    "delivered": "delivered",
    "softbounce": "soft_bounce",
    "hardbounce": "hard_bounce",
    "rejected": "refused",
    "skip": "refused",
    "blacklisted": "stop",  # the number opted out of our sender at Brevo: respect it here too
    "unsubscribe": "stop",
    "unsubscribed": "stop",
}
BREVO_EMAIL_KINDS = {
    "delivered": "delivered",
    "softbounce": "soft_bounce",
    "hardbounce": "hard_bounce",
    "invalidemail": "hard_bounce",
    "invalid": "hard_bounce",
    "spam": "complaint",
    "blocked": "refused",
    "error": "refused",
    "unsubscribed": "stop",
}


STOP_WORDS = {"STOP", "ARRET", "ARRÊT"}


def _first_word(text: str) -> str:
    words = re.findall(r"[A-ZÀ-Ý]+", text.upper())
    return words[0] if words else ""


def _phone(raw) -> str:
    raw = str(raw or "").strip()
    if not raw:
        return ""
    try:
        return smsmod.normalize_mobile(raw if raw.startswith("+") else "+" + raw)
    except smsmod.InvalidPhone:
        return ""


def brevo_sms_event(ev: dict) -> ProviderEvent:
    status = _norm(ev.get("msg_status") or ev.get("event"))
    number = _phone(ev.get("to") or ev.get("phoneNumber"))
    reply = ev.get("reply")
    if status in ("replied", "reply") or reply is not None:
        text = str(reply or "").strip().upper()
        kind = "stop" if _first_word(text) in STOP_WORDS else "ignored"
        return ProviderEvent("sms", kind, "brevo", address=number, reason=f"reply {text[:20]!r}")
    kind = BREVO_SMS_KINDS.get(status, "ignored")
    return ProviderEvent("sms", kind, "brevo", message_id=str(ev.get("messageId") or ""), address=number,
                         reason=str(ev.get("reason") or status))


def brevo_email_event(ev: dict) -> ProviderEvent:
    status = _norm(ev.get("event"))
    custom = str(ev.get("X-Mailin-custom") or "")
    at = None
    ts = ev.get("ts_event") or ev.get("ts")
    if isinstance(ts, (int, float)) and ts > 0:
        at = dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(tzinfo=None)
    return ProviderEvent("email", BREVO_EMAIL_KINDS.get(status, "ignored"), "brevo",
                         message_id=str(ev.get("message-id") or ev.get("messageId") or ""),
                         key=custom[len(MAILIN_PREFIX):] if custom.startswith(MAILIN_PREFIX) else "",
                         address=str(ev.get("email") or "").strip().lower(), reason=str(ev.get("reason") or status),
                         at=at)


# Generic HTTP/JSON gateway (our own documented contract, see sms.HttpJsonProvider) -------------------------------------

HTTP_JSON_KINDS = {"delivered": "delivered", "soft_bounce": "soft_bounce", "hard_bounce": "hard_bounce",
                   "failed": "refused", "undelivered": "refused"}


def http_json_event(ev: dict) -> ProviderEvent:
    status = str(ev.get("status") or "")
    if status == "inbound":
        text = str(ev.get("text") or "").strip().upper()
        return ProviderEvent("sms", "stop" if _first_word(text) in STOP_WORDS else "ignored", "http_json",
                             address=_phone(ev.get("from")), reason=f"inbound {text[:20]!r}")
    reason = str(ev.get("reason") or status)
    kind = HTTP_JSON_KINDS.get(status, "ignored")
    if kind == "refused" and reason == "invalid_number":
        kind = "hard_bounce"
    return ProviderEvent("sms", kind, "http_json", message_id=str(ev.get("id") or ""), address=_phone(ev.get("to")),
                         reason=reason)


# Acting on an event ------------------------------------------------------------------------------------------------

INVALID_REASONS = {("sms", "hard_bounce"): "invalid_number", ("email", "hard_bounce"): "hard_bounce",
                   ("email", "complaint"): "spam_complaint", ("sms", "complaint"): "spam_complaint"}


def _audit(session: Session, action: str, sub: Subscriber, provider: str, **details) -> None:
    coll_id = session.scalar(select(Collectivity.id).where(Collectivity.insee == sub.commune_insee,
                                                           Collectivity.kind == "commune"))
    session.add(AuditEvent(action=action, actor=f"system ({provider})", collectivity_id=coll_id,
                           target_type="Subscriber", target_id=str(sub.id),
                           details={k: v for k, v in details.items() if v is not None}))


def mark_invalid(session: Session, sub: Subscriber, channel: str, address: str, reason: str, provider: str) -> bool:
    """Stop sending to this subscriber's address on ``channel`` (only if it is still the address that failed)."""
    if channel == "email" and sub.email and sub.email.lower() == address.lower() and sub.email_invalid != reason:
        sub.email_invalid = reason[:200]
    elif channel == "sms" and sub.phone == address and sub.phone_invalid != reason:
        sub.phone_invalid = reason[:200]
    else:
        return False
    _audit(session, "alerts.channel_invalid", sub, provider, channel=channel, reason=reason)
    log.warning("subscriber %s: %s marked invalid (%s, from %s)", sub.id, channel, reason, provider)
    return True


def stop_number(session: Session, phone: str, provider: str, via: str = "stop") -> int:
    """A STOP: end every active subscription of that number (all communes: the number said STOP)."""
    n = 0
    for sub in session.scalars(select(Subscriber).where(Subscriber.phone == phone)):
        ended = 0
        for s in sub.subscriptions:
            if s.unsubscribed_at is None:
                s.unsubscribed_at, s.unsubscribe_channel = utcnow(), via
                ended += 1
        if ended:
            _audit(session, "alerts.subscriber_unsubscribed", sub, provider, channel=via, lists=ended)
        n += ended
    return n


def _find_delivery(session: Session, ev: ProviderEvent) -> Delivery | None:
    if ev.key:
        d = session.scalar(select(Delivery).where(Delivery.key == ev.key))
        if d is not None:
            return d
    if not ev.message_id:
        return None
    ids = {ev.message_id}
    if ev.channel == "email":  # Message-ID with or without its angle brackets
        bare = ev.message_id.strip().strip("<>")
        ids |= {bare, f"<{bare}>"}
    return session.scalar(select(Delivery).where(Delivery.channel == ev.channel,
                                                 Delivery.provider_message_id.in_(ids))
                          .order_by(Delivery.id.desc()))


def retry_later(d: Delivery, reason: str, now: dt.datetime | None = None) -> None:
    """Send the row again after the backoff of its attempt number, or fail it when the attempts are spent."""
    from .delivery import MAX_ATTEMPTS, backoff

    now = now or utcnow()
    if d.attempts >= MAX_ATTEMPTS:
        d.status, d.failure_reason = "failed", "retries_exhausted"
    else:
        d.status, d.failure_reason = "pending", reason
        d.next_attempt_at = now + backoff(d.attempts)
        d.claimed_at = None


def apply_event(session: Session, ev: ProviderEvent) -> bool:
    """Act on one provider event; returns whether it changed or confirmed something of ours. One branch per kind of
    event, in the order of the module docstring's list, so the rules read in one place (hence its length)."""
    if ev.kind == "ignored":
        return False
    if ev.kind == "stop":
        if ev.channel == "sms":
            if not ev.address:
                return False
            n = stop_number(session, ev.address, ev.provider)
            log.info("STOP by SMS (%s): %s subscription(s) ended", ev.provider, n)
            return True
        # an e-mail "unsubscribed" event: the resident used the provider's own link
        d = _find_delivery(session, ev)
        subs = [d.subscriber] if d is not None and d.subscriber is not None else list(session.scalars(
            select(Subscriber).where(func.lower(Subscriber.email) == ev.address))) if ev.address else []
        for sub in subs:
            ended = 0
            for s in sub.subscriptions:
                if s.unsubscribed_at is None:
                    s.unsubscribed_at, s.unsubscribe_channel = utcnow(), "provider"
                    ended += 1
            if ended:
                _audit(session, "alerts.subscriber_unsubscribed", sub, ev.provider, channel="provider", lists=ended)
        return bool(subs)
    d = _find_delivery(session, ev)
    if d is not None and ev.at is not None and d.sent_at is not None and ev.at < d.sent_at - dt.timedelta(seconds=1):
        log.info("%s event %s for delivery %s is older than its last sending: ignored", ev.provider, ev.kind, d.id)
        return False
    if ev.kind == "delivered":
        if d is None or d.status not in ("sent", "delivered"):
            return False
        d.status, d.delivered_at = "delivered", d.delivered_at or utcnow()
        return True
    if ev.kind == "soft_bounce":
        if d is None or d.status not in ("sent", "delivered"):
            return False
        d.last_error = f"{ev.provider}: {ev.reason}"[:2000]
        retry_later(d, "soft_bounce")
        log.warning("delivery %s: soft bounce (%s), %s", d.id, ev.reason, d.status)
        return True
    if ev.kind in ("hard_bounce", "complaint"):
        reason = INVALID_REASONS[(ev.channel, ev.kind)]
        address = d.address if d is not None else ev.address
        if d is not None and d.status != "cancelled":
            d.status, d.failure_reason = "failed", reason
            d.last_error = f"{ev.provider}: {ev.reason}"[:2000]
        if d is not None and d.subscriber is not None:
            subs = [d.subscriber]
        elif address and ev.channel == "email":
            subs = list(session.scalars(select(Subscriber).where(func.lower(Subscriber.email) == address.lower())))
        elif address:
            subs = list(session.scalars(select(Subscriber).where(Subscriber.phone == address)))
        else:
            subs = []
        for sub in subs:
            mark_invalid(session, sub, ev.channel, address, reason, ev.provider)
        return d is not None or bool(subs)
    if ev.kind == "refused":
        if d is None or d.status not in ("sent", "delivered"):
            return False
        d.status, d.failure_reason = "failed", "refused"
        d.last_error = f"{ev.provider}: {ev.reason}"[:2000]
        return True
    return False


def apply_events(events: list[ProviderEvent]) -> int:
    """Apply events in one transaction of their own (system context: receipts of every commune)."""
    handled = 0
    with Session(db.engine) as session:
        for ev in events:
            handled += bool(apply_event(session, ev))
        session.commit()
    return handled
