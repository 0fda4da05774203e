"""Delivery of alerts through the outbox (DESIGN.md §4).

- :func:`queue_alert` writes one :class:`Delivery` row per recipient and channel in the caller's transaction; once it
  commits, the ids go to Celery (``alerts.send_batch``) in batches (``portal.outbox.enqueue_after_commit``). Scheduled alerts wait in the outbox with their
  ``next_attempt_at``; ``alerts.flush`` (beat, or ``flask alerts flush``) sends what is due.
- :func:`deliver` claims one row (pending → sending, in its own transaction: only one worker wins), sends it, and
  records the outcome: e-mail accepted by the SMTP server → delivered; SMS accepted by the provider → sent, then
  delivered/failed by the provider's receipt (webhook). Temporary errors are retried with exponential backoff (up to
  ``MAX_ATTEMPTS``), permanent ones never; a permanent "bad address" marks the resident's address invalid so it is
  not tried again. A row left in ``sending`` by a killed worker is put back to pending by :func:`flush` after
  ``STALE_SENDING``.
- E-mail uses the portal's SMTP code (``portal.mail._send_smtp``, its error classification); what a message says
  and how its e-mail is built are in :mod:`messages`, the reused SMTP connection of the fast path in :mod:`smtp`,
  zones in :mod:`zones`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from types import SimpleNamespace

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.logs import redact
from portal.mail import PermanentMailError, TemporaryMailError, _send_smtp, _write_file
from portal.models import Collectivity
from portal.outbox import enqueue_after_commit
from portal.settings import setting
from portal.tenancy import connection_territory

from . import sms as smsmod
from .messages import EmailTemplate, build_email, commune_name, link_templates, message_id, sms_text
from .models import Alert, Delivery, Subscriber, Subscription, utcnow
from .smtp import SmtpBatch
from .zones import in_zone, zone_shape

log = logging.getLogger("services.alerts.delivery")

MAX_ATTEMPTS = 6
STALE_SENDING = dt.timedelta(minutes=10)
BATCH = 250


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
        from .tasks import send_batch

        enqueue_after_commit(send_batch, *(r.id for r in rows), batch=BATCH)
    return len(rows)


def _mark_invalid(session: Session, d: Delivery, reason: str) -> None:
    """A permanent refusal of the address or number by our own provider: the resident's channel is marked invalid
    (audited, visible to the mairie) and nothing is sent to it any more."""
    from .receipts import mark_invalid

    if d.subscriber_id is None:
        return
    sub = session.get(Subscriber, d.subscriber_id)
    if sub is not None:
        mark_invalid(session, sub, d.channel, d.address, reason, d.provider or "smtp")


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: 30 s, 1 min, 2 min, 4 min, 8 min…"""
    return dt.timedelta(seconds=30 * 2 ** max(attempts - 1, 0))


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


_RECORD_DELIVERED = (
    update(Delivery.__table__)
    .where(Delivery.__table__.c.id == bindparam("row_id"))
    .values(status="delivered", provider="smtp", provider_message_id=bindparam("mid"),
            sent_at=bindparam("at"), delivered_at=bindparam("at"), last_error="", failure_reason=""))


def _outcome_writer(record):
    """A function recording one e-mail as delivered on the autocommit connection ``record``. On PostgreSQL it goes
    straight to the driver's cursor (the statement compiled once, prepared by psycopg after a few runs): this runs
    once per message, between the end of DATA and the server's answer."""
    if db.engine.dialect.name != "postgresql":
        return lambda params: record.execute(_RECORD_DELIVERED, params)
    compiled = _RECORD_DELIVERED.compile(dialect=db.engine.dialect)
    sql, base = str(compiled), dict(compiled.params)
    cursor = record.connection.dbapi_connection.cursor()

    def write(params):
        cursor.execute(sql, {**base, **params})
    return write


def deliver_many(ids: list[int], *, smtp_send=None, smtp: SmtpBatch | None = None,
                 now: dt.datetime | None = None) -> dict[int, str]:
    """Send a batch of outbox rows; returns their status afterwards.

    Each outcome is recorded right after its message leaves, in one single-statement transaction (autocommit), so a
    worker killed mid-batch loses nothing (rows it had claimed and not sent go back to pending) and at most the one
    message in flight at the instant of the kill can be sent again. Recording outcomes in groups would be fewer
    round trips, but every message of a group accepted by the SMTP server before the kill would be sent twice.

    The hot path (list e-mails over one SMTP connection, ``smtp``) renders each message from an
    :class:`EmailTemplate` prepared once per alert and records it with one UPDATE; everything else (SMS, cancelled
    or unsubscribed rows, failures, the .eml folder, a caller's ``smtp_send``) goes through the ORM path below."""
    cfg = current_app.config
    out: dict[int, str] = {}
    own_smtp = None
    if smtp is None and smtp_send is None and cfg.get("MAIL_SERVER"):
        smtp = own_smtp = SmtpBatch(cfg)
    try:
        with Session(db.engine, expire_on_commit=False) as session:
            claimed = _claim(session, list(ids), now or utcnow())
            if not claimed:
                return out
            _deliver_claimed(session, claimed, cfg, smtp_send, smtp, out)
    finally:
        if own_smtp is not None:
            own_smtp.close()
    return out


def _load_batch(session: Session, claimed: list[int]):
    """Everything the claimed rows need to be sent, read in one go: the rows, their alerts and subscribers, which
    subscribers are still on one of their alert's lists, the communes' names and the e-mail links."""
    t = Delivery.__table__.c
    rows = session.execute(select(t.id, t.alert_id, t.subscriber_id, t.channel, t.address, t.key, t.commune_insee)
                           .where(t.id.in_(claimed)).order_by(t.id)).all()
    alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_({r.alert_id for r in rows})))}
    sub_ids = {r.subscriber_id for r in rows if r.subscriber_id}
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
        Collectivity.insee.in_({r.commune_insee for r in rows}))).all())
    links = {insee: link_templates(insee) for insee in {r.commune_insee for r in rows if r.channel == "email"}}
    return rows, alerts, subs, wanted, names, links


def _deliver_claimed(session: Session, claimed: list[int], cfg, smtp_send, smtp, out: dict[int, str]) -> None:
    """Send the claimed rows and record each outcome (see :func:`deliver_many`). One loop over the batch with the
    fast path inline: the per-message work is what the bench measures, so it stays in one place (hence its length)."""
    rows, alerts, subs, wanted, names, links = _load_batch(session, claimed)
    session.commit()  # nothing held while sending
    templates: dict[int, EmailTemplate] = {}
    fast = smtp is not None and smtp_send is None and bool(cfg.get("MAIL_SERVER"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as record, \
            connection_territory(record, {r.commune_insee for r in rows}):  # RLS: the rows' own communes
        if db.engine.dialect.name == "postgresql":
            # Outcome commits need not wait for the WAL flush: a killed *worker* loses nothing (the server has the
            # commit); only a crash of the PostgreSQL server itself could forget the last ~0.6 s of outcomes, and
            # those rows would be sent again (never lost). Reset before the connection goes back to the pool.
            record.exec_driver_sql("SET synchronous_commit TO OFF")
        write_outcome = _outcome_writer(record)
        try:
            for r in rows:
                alert = alerts[r.alert_id]
                sub = subs.get(r.subscriber_id) if r.subscriber_id else None
                send = not (alert.status == "cancelled" or (
                    alert.kind == "broadcast" and (sub is None or not sub.channel_ok(r.channel)
                                                   or (alert.id, sub.id) not in wanted)))
                if send and fast and r.channel == "email" and EmailTemplate.fits(r.address):
                    commune = names.get(r.commune_insee, "")
                    tmpl = templates.get(alert.id)
                    if tmpl is None:
                        with force_locale("fr"):
                            tmpl = templates[alert.id] = EmailTemplate(alert, commune, links.get(r.commune_insee))
                    token = sub.token if sub is not None and alert.kind == "broadcast" else None

                    def rebuild(r=r, alert=alert, sub=sub, commune=commune):
                        with force_locale("fr"):
                            return build_email(r, alert, sub, commune, links.get(r.commune_insee))

                    def accepting(r=r):
                        write_outcome({"row_id": r.id, "mid": message_id(r.key), "at": utcnow()})

                    try:
                        smtp.send_raw(tmpl.envelope_from, r.address, tmpl.render(r.key, r.address, token), rebuild,
                                      accepting)
                    except (TemporaryMailError, PermanentMailError) as exc:
                        d = session.get(Delivery, r.id, populate_existing=True)
                        d.provider = "smtp"
                        _record_error(session, d, alert, exc)
                        session.commit()
                        out[r.id] = d.status
                        continue
                    except Exception as exc:  # noqa: BLE001 - one bad row never stops the outbox
                        d = session.get(Delivery, r.id, populate_existing=True)
                        d.status, d.failure_reason = "failed", "send_error"
                        d.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                        session.commit()
                        log.error("alert %s: delivery %s failed on an unexpected error: %s", alert.id, r.id, redact(exc))
                        out[r.id] = d.status
                        continue
                    out[r.id] = "delivered"
                    continue
                d = session.get(Delivery, r.id)
                if alert.status == "cancelled":
                    d.status, d.failure_reason = "cancelled", "alert_cancelled"
                elif not send:
                    d.status, d.failure_reason = "cancelled", "unsubscribed"
                else:
                    _send_one(session, d, alert, sub, names.get(r.commune_insee, ""), cfg,
                              smtp_send or (smtp.send if smtp is not None else None), links.get(r.commune_insee))
                session.commit()
                out[r.id] = d.status
            log.info("alerts: %s deliveries processed", len(rows))
        finally:
            if db.engine.dialect.name == "postgresql":
                record.exec_driver_sql("RESET synchronous_commit")


def _send_one(session: Session, d: Delivery, alert: Alert, sub: Subscriber | None, commune: str, cfg,
              smtp_send, links=None) -> None:
    try:
        with force_locale("fr"):
            if d.channel == "email":
                d.provider = "smtp"
                if not _mailable(d.address):
                    d.status, d.failure_reason = "failed", "invalid_address"
                    d.last_error = "not a valid e-mail address (refused before sending)"
                    log.error("alert %s: delivery %s has no valid e-mail address: not sent", alert.id, d.id)
                    return
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
                text = sms_text(alert, commune, sub.short_code if sub is not None else None)
                count = smsmod.segments(text)
                smsmod.limiter(provider.name, float(setting("ALERTS_SMS_RATE") or 10),
                               int(setting("ALERTS_SMS_BURST") or 1)).acquire()
                d.provider_message_id = provider.send(d.address, text, d.key, count.encoding == "UCS-2")
                d.segments = count.segments
                d.billed_segments = (d.billed_segments or 0) + count.segments
                d.status = "sent"
        d.sent_at, d.last_error, d.failure_reason = utcnow(), "", ""
        log.info("alert %s: delivery %s (%s) %s", alert.id, d.id, d.channel, d.status)
    except (TemporaryMailError, smsmod.TemporarySmsError, PermanentMailError, smsmod.PermanentSmsError) as exc:
        _record_error(session, d, alert, exc)
    except Exception as exc:  # noqa: BLE001 - one bad row must never stop the outbox: it fails, the others go on
        d.status, d.failure_reason = "failed", "send_error"
        d.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("alert %s: delivery %s failed on an unexpected error: %s", alert.id, d.id, redact(exc))


def _mailable(address: str) -> bool:
    from .schemas import InvalidAddress, email_address

    try:
        email_address(address)
    except InvalidAddress:
        return False
    return True


def _record_error(session: Session, d: Delivery, alert: Alert, exc: Exception) -> None:
    """A failed send: temporary errors are retried with backoff (until ``MAX_ATTEMPTS``), permanent ones never; a
    refused address or number is marked invalid so it is not tried again."""
    if isinstance(exc, (TemporaryMailError, smsmod.TemporarySmsError)):
        d.last_error = str(exc)[:2000]
        if d.attempts >= MAX_ATTEMPTS:
            d.status, d.failure_reason = "failed", "retries_exhausted"
        else:
            d.status, d.failure_reason = "pending", "temporary"
            d.next_attempt_at = utcnow() + backoff(d.attempts)
        log.warning("alert %s: delivery %s (%s): temporary failure (%s), attempt %s", alert.id, d.id, d.channel,
                    redact(exc), d.attempts)
    elif isinstance(exc, PermanentMailError):
        d.status, d.failure_reason, d.last_error = "failed", "address_refused", str(exc)[:2000]
        _mark_invalid(session, d, "address_refused")
        log.error("alert %s: delivery %s (e-mail) refused for good: %s", alert.id, d.id, redact(exc))
    else:
        d.status, d.failure_reason, d.last_error = "failed", exc.reason, str(exc)[:2000]
        if exc.reason == "invalid_number":
            _mark_invalid(session, d, "invalid_number")
        log.error("alert %s: delivery %s (SMS) refused for good: %s", alert.id, d.id, redact(exc))


def flush(now: dt.datetime | None = None) -> dict[str, int]:
    """Send every due pending row, after putting back rows a dead worker left in 'sending'."""
    now = now or utcnow()
    with Session(db.engine) as session:
        session.execute(update(Delivery).where(Delivery.status == "sending",
                                               Delivery.claimed_at < now - STALE_SENDING)
                        .values(status="pending"))
        session.execute(update(Alert).where(Alert.status == "scheduled", Alert.scheduled_at <= now)
                        .values(status="queued", sent_at=Alert.scheduled_at))
        session.commit()
        due = session.scalars(select(Delivery.id).where(Delivery.status == "pending",
                                                        Delivery.next_attempt_at <= now)
                              .order_by(Delivery.id)).all()
    counts: dict[str, int] = {}
    for i in range(0, len(due), BATCH):
        for status in deliver_many(due[i:i + BATCH], now=now).values():
            counts[status] = counts.get(status, 0) + 1
    return counts


def code_hash(subscriber_token: str, code: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{secret}:{subscriber_token}:{code}".encode()).hexdigest()


__all__ = ["queue_alert", "deliver", "deliver_many", "flush", "recipients"]
