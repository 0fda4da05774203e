"""Delivery of alerts through the outbox (DESIGN.md §4).

- :func:`queue_alert` writes one :class:`Delivery` row per recipient and channel in the caller's transaction; once it
  commits, the ids go to Celery (``alerts.send_batch``) in batches. Scheduled alerts wait in the outbox with their
  ``next_attempt_at``; ``alerts.flush`` (beat, or ``flask alerts flush``) sends what is due.
- :func:`deliver` claims one row (pending → sending, in its own transaction: only one worker wins), sends it, and
  records the outcome: e-mail accepted by the SMTP server → delivered; SMS accepted by the provider → sent, then
  delivered/failed by the provider's receipt (webhook). Temporary errors are retried with exponential backoff (up to
  ``MAX_ATTEMPTS``), permanent ones never; a permanent "bad address" marks the resident's address invalid so it is
  not tried again. A row left in ``sending`` by a killed worker is put back to pending by :func:`flush` after
  ``STALE_SENDING``.
- E-mail uses the portal's SMTP code (``portal.mail._send_smtp``, its error classification) with
  ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` (RFC 8058) for list messages; the Message-ID is derived from the
  delivery's idempotency key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.mail import PermanentMailError, TemporaryMailError, _send_smtp, _write_file
from portal.models import Collectivity

from .settings import setting
from . import sms as smsmod
from .grammar import of_commune
from .models import Alert, AlertList, Delivery, Subscriber, Subscription, utcnow

log = logging.getLogger("services.alerts.delivery")

MAX_ATTEMPTS = 6
STALE_SENDING = dt.timedelta(minutes=10)
BATCH = 100
SESSION_KEY = "alerts_delivery_ids"


def public_url(endpoint: str, **values) -> str:
    """An absolute link for messages, in a request or in a worker (BASE_URL)."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config.get("BASE_URL") or "http://localhost"):
        return url_for(endpoint, _external=True, **values)


def commune_name(insee: str) -> str:
    return db.session.scalar(select(Collectivity.name).where(Collectivity.insee == insee)) or insee


def stop_mention() -> str:
    return setting("ALERTS_SMS_STOP_MENTION") or _("Unsubscribe: reply STOP")


def sms_text(alert: Alert, commune: str) -> str:
    """What an SMS says: the commune, the text, and for list messages the STOP mention."""
    text = f"{commune} : {alert.body.strip()}"
    if alert.kind == "broadcast":
        text += f"\n{stop_mention()}"
    # French typography puts no-break spaces before « : ; ? ! »; GSM 03.38 has none, and a single one would turn the
    # whole SMS into UCS-2 (70 characters a segment instead of 160).
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def in_zone(sub: Subscriber, zone: dict | None, shape=None) -> bool:
    """Whether the subscriber lives in the zone: inside the polygon (geocoded address), or in one of the streets
    (geocoded street name, or the street written in the address when it could not be geocoded)."""
    from portal.models import fold

    if not zone:
        return True
    loc = sub.location
    if zone.get("type") == "Polygon":
        if loc is None or loc.status != "found" or shape is None:
            return False
        from shapely.geometry import Point

        return shape.covers(Point(loc.longitude, loc.latitude))
    if zone.get("type") == "streets":
        wanted = {fold(s) for s in zone.get("streets") or [] if s}
        if loc is not None and loc.street and fold(loc.street) in wanted:
            return True
        address = f" {fold(sub.address)} "
        return any(f" {w} " in address for w in wanted)
    return False


def zone_shape(zone: dict | None):
    if not zone or zone.get("type") != "Polygon":
        return None
    from shapely.geometry import shape

    return shape(zone)


def recipients(insee: str, list_ids: list[int], channels: list[str], subscriber_ids=None, zone=None):
    """(subscriber, channel, address) for every confirmed, active subscriber of the lists (in the zone, when one is
    given), once per channel."""
    stmt = (select(Subscriber).join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscriber.commune_insee == insee, Subscription.list_id.in_(list_ids),
                   Subscription.unsubscribed_at.is_(None)).distinct().order_by(Subscriber.id))
    if subscriber_ids is not None:
        stmt = stmt.where(Subscriber.id.in_(subscriber_ids))
    out = []
    shape = zone_shape(zone)
    for sub in db.session.scalars(stmt):
        if zone and not in_zone(sub, zone, shape):
            continue
        for channel in channels:
            if sub.channel_ok(channel):
                out.append((sub, channel, sub.email if channel == "email" else sub.phone))
    return out


def queue_alert(alert: Alert, targets) -> int:
    """Add the deliveries of ``alert`` to the session; ids are dispatched after commit. Returns their number."""
    with force_locale("fr"):  # the SMS is French whoever sends it, in a request or not
        segments = smsmod.segments(sms_text(alert, commune_name(alert.commune_insee))).segments
    alert.sms_segments = segments if "sms" in alert.channels else 0
    rows = []
    due = alert.scheduled_at or utcnow()
    for sub, channel, address in targets:
        rows.append(Delivery(alert=alert, subscriber_id=getattr(sub, "id", None), channel=channel, address=address,
                             commune_insee=alert.commune_insee, next_attempt_at=due,
                             segments=segments if channel == "sms" else 0))
    db.session.add_all(rows)
    db.session.flush()
    if alert.scheduled_at is None or alert.scheduled_at <= utcnow():
        db.session.info.setdefault(SESSION_KEY, []).extend(r.id for r in rows)
    return len(rows)


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    ids = session.info.pop(SESSION_KEY, None)
    if not ids:
        return
    from .tasks import send_batch

    for i in range(0, len(ids), BATCH):
        try:
            send_batch.apply_async(args=[ids[i:i + BATCH]], countdown=0)
        except Exception:  # noqa: BLE001 - broker down: rows stay pending, flush sends them
            log.exception("could not enqueue %s alert deliveries; they stay in the outbox", len(ids[i:i + BATCH]))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop(SESSION_KEY, None)


# Sending ----------------------------------------------------------------------------------------------------------

def _message_id(key: str) -> str:
    domain = (current_app.config.get("MAIL_SENDER") or "").rsplit("@", 1)[-1].strip("> ") or "extranet.localhost"
    return f"<alert-{key}@{domain}>"


TOKEN_SLOT = "__subscriber_token__"


def link_templates(insee: str) -> dict[str, str]:
    """The three links of a list e-mail with a slot for the subscriber's token, built once per batch (building a URL
    outside a request costs a request context each time)."""
    return {name: public_url(f"alerts_public.{name}", insee=insee, token=TOKEN_SLOT)
            for name in ("unsubscribe", "one_click", "manage")}


def build_email(d: Delivery, alert: Alert, sub: Subscriber | None, commune: str,
                links: dict[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config.get("MAIL_SENDER") or "no-reply@extranet.localhost"
    msg["To"] = d.address
    msg["Subject"] = f"{commune} — {alert.title}"
    msg["Message-ID"] = _message_id(d.key)
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    lines = [alert.body.strip(), "", "—", _("Mairie %(of_commune)s", commune=commune, of_commune=of_commune(commune))]
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


class SmtpBatch:
    """One SMTP connection reused for a batch of messages (a loopback or relay server handles thousands of messages
    per connection). Any error on the shared connection closes it and the message goes again through the portal's
    ``_send_smtp`` on a fresh connection, which classifies the failure (temporary / permanent): the error rules stay
    in one place. A recipient refused at RCPT was never accepted, so this second try never duplicates a message."""

    def __init__(self, cfg, per_connection: int = 500):
        self.cfg, self.per_connection = cfg, per_connection
        self.conn: smtplib.SMTP | None = None
        self.sent_on_conn = 0

    def _open(self) -> smtplib.SMTP:
        cfg = self.cfg
        if cfg.get("MAIL_USE_SSL"):
            conn = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"],
                                    context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
            if cfg.get("MAIL_USE_TLS"):
                conn.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            conn.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        return conn

    def send(self, msg: EmailMessage, cfg) -> None:
        if not cfg.get("MAIL_SERVER"):
            raise TemporaryMailError("MAIL_SERVER is not set")
        try:
            if self.conn is None or self.sent_on_conn >= self.per_connection:
                self.close()
                self.conn, self.sent_on_conn = self._open(), 0
            self.conn.send_message(msg)
            self.sent_on_conn += 1
        except (OSError, smtplib.SMTPException):
            self.close()
            _send_smtp(msg, cfg)  # classifies the failure, or succeeds on a fresh connection

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.conn = None


def _mark_invalid(session: Session, d: Delivery, reason: str) -> None:
    if d.subscriber_id is None:
        return
    sub = session.get(Subscriber, d.subscriber_id)
    if sub is None:
        return
    if d.channel == "email" and sub.email == d.address:
        sub.email_invalid = reason[:200]
    elif d.channel == "sms" and sub.phone == d.address:
        sub.phone_invalid = reason[:200]


def deliver(delivery_id: int, *, smtp_send=None) -> str:
    """Send one outbox row; returns its status afterwards ("skipped" when another worker has it)."""
    return deliver_many([delivery_id], smtp_send=smtp_send).get(delivery_id, "skipped")


def _claim(session: Session, ids: list[int], now: dt.datetime) -> list[int]:
    """pending → sending for the due rows among ``ids``, in one committed statement: a row is claimed by one worker
    only. Rows claimed by a worker that dies before sending them stay "sending" until :func:`flush` puts them back."""
    claimed = session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .values(status="sending", attempts=Delivery.attempts + 1, claimed_at=now)
        .returning(Delivery.id)).all()
    session.commit()
    return sorted(claimed)


def deliver_many(ids: list[int], *, smtp_send=None, now: dt.datetime | None = None) -> dict[int, str]:
    """Send a batch of outbox rows; returns their status afterwards. Each outcome is committed right after its
    message leaves, so a worker killed mid-batch loses nothing (unsent rows go back to pending) and at most the one
    message in flight at the instant of the kill can be sent again."""
    cfg = current_app.config
    out: dict[int, str] = {}
    with Session(db.engine, expire_on_commit=False) as session:
        claimed = _claim(session, list(ids), now or utcnow())
        if not claimed:
            return out
        if db.engine.dialect.name == "postgresql":
            # Outcome commits need not wait for the WAL flush: a killed *worker* loses nothing (the server has the
            # commit); only a crash of the PostgreSQL server itself could forget the last ~0.6 s of outcomes, and
            # those rows would be sent again (never lost). Reset before the connection goes back to the pool.
            session.connection().exec_driver_sql("SET synchronous_commit TO OFF")
        rows = session.scalars(select(Delivery).where(Delivery.id.in_(claimed)).order_by(Delivery.id)).all()
        alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_({d.alert_id for d in rows})))}
        sub_ids = {d.subscriber_id for d in rows if d.subscriber_id}
        subs = {s.id: s for s in session.scalars(select(Subscriber).where(Subscriber.id.in_(sub_ids)))} \
            if sub_ids else {}
        wanted: set[tuple[int, int]] = set()  # (alert id, subscriber id) still subscribed to one of its lists
        for alert in alerts.values():
            if alert.kind == "broadcast" and sub_ids:
                for sid in session.scalars(select(Subscription.subscriber_id).distinct().where(
                        Subscription.subscriber_id.in_(sub_ids), Subscription.list_id.in_(alert.list_ids or [-1]),
                        Subscription.unsubscribed_at.is_(None))):
                    wanted.add((alert.id, sid))
        names = dict(session.execute(select(Collectivity.insee, Collectivity.name).where(
            Collectivity.insee.in_({d.commune_insee for d in rows}))).all())
        links = {insee: link_templates(insee) for insee in {d.commune_insee for d in rows if d.channel == "email"}}
        for d in rows:
            alert = alerts[d.alert_id]
            sub = subs.get(d.subscriber_id) if d.subscriber_id else None
            if alert.status == "cancelled":
                d.status, d.failure_reason = "cancelled", "alert_cancelled"
            elif alert.kind == "broadcast" and (sub is None or not sub.channel_ok(d.channel)
                                                 or (alert.id, sub.id) not in wanted):
                d.status, d.failure_reason = "cancelled", "unsubscribed"
            else:
                _send_one(session, d, alert, sub, names.get(d.commune_insee, ""), cfg, smtp_send,
                          links.get(d.commune_insee))
            session.commit()
            out[d.id] = d.status
        if db.engine.dialect.name == "postgresql":
            session.connection().exec_driver_sql("RESET synchronous_commit")
            session.commit()
    return out


def _send_one(session: Session, d: Delivery, alert: Alert, sub: Subscriber | None, commune: str, cfg,
              smtp_send, links=None) -> None:
    try:
        with force_locale("fr"):
            if d.channel == "email":
                d.provider = "smtp"
                msg = build_email(d, alert, sub, commune, links)
                if cfg.get("MAIL_SERVER"):
                    (smtp_send or _send_smtp)(msg, cfg)
                else:  # embedded default: the portal's .eml folder, as for its own mail
                    d.provider = "file"
                    _write_file(msg, SimpleNamespace(id=d.id, to_address=d.address, subject=msg["Subject"],
                                                     body_text=msg.get_content()), cfg["MAIL_OUTBOX_DIR"])
                d.provider_message_id = msg["Message-ID"]
                d.status = "delivered"
                d.delivered_at = utcnow()
            else:
                provider = smsmod.provider_from_config(cfg)
                d.provider = provider.name
                text = sms_text(alert, commune)
                count = smsmod.segments(text)
                smsmod.limiter(provider.name, float(setting("ALERTS_SMS_RATE") or 10)).acquire()
                d.provider_message_id = provider.send(d.address, text, d.key, count.encoding == "UCS-2")
                d.segments = count.segments
                d.status = "sent"
        d.sent_at, d.last_error, d.failure_reason = utcnow(), "", ""
        log.info("alert %s: %s to %s %s", alert.id, d.channel, d.address, d.status)
    except (TemporaryMailError, smsmod.TemporarySmsError) as exc:
        d.last_error = str(exc)[:2000]
        if d.attempts >= MAX_ATTEMPTS:
            d.status, d.failure_reason = "failed", "retries_exhausted"
        else:
            d.status, d.failure_reason = "pending", "temporary"
            d.next_attempt_at = utcnow() + dt.timedelta(seconds=30 * 2 ** (d.attempts - 1))
        log.warning("alert %s: %s to %s: temporary failure (%s), attempt %s", alert.id, d.channel, d.address,
                    exc, d.attempts)
    except PermanentMailError as exc:
        d.status, d.failure_reason, d.last_error = "failed", "address_refused", str(exc)[:2000]
        _mark_invalid(session, d, "address_refused")
        log.error("alert %s: e-mail to %s refused for good: %s", alert.id, d.address, exc)
    except smsmod.PermanentSmsError as exc:
        d.status, d.failure_reason, d.last_error = "failed", exc.reason, str(exc)[:2000]
        if exc.reason == "invalid_number":
            _mark_invalid(session, d, "invalid_number")
        log.error("alert %s: SMS to %s refused for good: %s", alert.id, d.address, exc)


def flush(now: dt.datetime | None = None) -> dict[str, int]:
    """Send every due pending row, after putting back rows a dead worker left in 'sending'."""
    now = now or utcnow()
    with Session(db.engine) as session:
        session.execute(update(Delivery).where(Delivery.status == "sending",
                                               Delivery.claimed_at < now - STALE_SENDING)
                        .values(status="pending"))
        session.execute(update(Alert).where(Alert.status == "scheduled", Alert.scheduled_at <= now)
                        .values(status="queued"))
        session.commit()
        due = session.scalars(select(Delivery.id).where(Delivery.status == "pending",
                                                        Delivery.next_attempt_at <= now)
                              .order_by(Delivery.id)).all()
    counts: dict[str, int] = {}
    for i in range(0, len(due), BATCH):
        for status in deliver_many(due[i:i + BATCH], now=now).values():
            counts[status] = counts.get(status, 0) + 1
    return counts


def apply_receipt(provider_message_id: str, status: str, reason: str = "") -> bool:
    """A provider's delivery receipt: delivered, or failed with a reason. Returns whether a row matched."""
    with Session(db.engine) as session:
        d = session.scalar(select(Delivery).where(Delivery.provider_message_id == provider_message_id,
                                                  Delivery.channel == "sms"))
        if d is None:
            return False
        if status == "delivered":
            d.status, d.delivered_at = "delivered", utcnow()
        elif status == "failed":
            d.status, d.failure_reason = "failed", reason or "not_delivered"
            if reason == "invalid_number":
                _mark_invalid(session, d, reason)
        session.commit()
        return True


def stop_by_phone(phone: str) -> int:
    """A STOP reply: end every active subscription of that number (all communes: the number said STOP)."""
    with Session(db.engine) as session:
        subs = session.scalars(select(Subscriber).where(Subscriber.phone == phone)).all()
        n = 0
        for sub in subs:
            for s in sub.subscriptions:
                if s.unsubscribed_at is None:
                    s.unsubscribed_at, s.unsubscribe_channel = utcnow(), "stop"
                    n += 1
        session.commit()
        return n


def code_hash(subscriber_token: str, code: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{secret}:{subscriber_token}:{code}".encode()).hexdigest()


__all__ = ["queue_alert", "deliver", "flush", "recipients", "apply_receipt", "stop_by_phone", "AlertList"]
