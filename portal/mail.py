"""The one mail module.

``queue_email`` writes an ``OutgoingEmail`` row in the caller's transaction; once that transaction commits, a
Celery task delivers it. Delivery goes to the SMTP server of the configuration (``MAIL_SERVER``); with none set
(embedded default) the message is written as an ``.eml`` file to ``MAIL_OUTBOX_DIR`` and its text is logged, so a
person trying the demo can follow activation links from the console.

Delivery is idempotent: a row is claimed (pending → sending) by one worker only; temporary failures are retried with
exponential backoff, permanent ones (recipient refused) are marked failed. ``flask outbox flush`` (and the beat
schedule) retries what is due and reclaims rows a dead worker left in ``sending``.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .extensions import db
from .logs import redact
from .models import OutgoingEmail, utcnow
from .outbox import enqueue_after_commit
from .tasks import celery_app

log = logging.getLogger("portal.mail")

MAX_ATTEMPTS = 8
STALE_SENDING = dt.timedelta(minutes=10)


class TemporaryMailError(Exception):
    pass


class PermanentMailError(Exception):
    pass


def queue_email(to: str, subject: str, template: str, *, locale: str | None = None, deliver: bool = True,
                identity_code: str | None = None, **context) -> OutgoingEmail:
    """Render ``emails/<template>.txt`` (and ``.html`` when it exists) and add the message to the outbox.

    The message wears the identity (portal name in the sender and the signature, footer) of the recipient's
    département: ``identity_code``, else that of a collectivity of the context (``collectivity=…``, or an object's
    ``.collectivity``: a tender, an act), else the ``user``'s first collectivity — or the recipient's, when the address
    is an account's —, else the page's (see :func:`identity_code_for`).

    ``deliver=False``: the caller hands the rows of a mass mailing (a digest) to :func:`deliver_emails` itself, in
    batches sent over one SMTP connection (``enqueue_after_commit(deliver_emails, *ids, batch=BATCH)``)."""
    identity_code = identity_code or identity_code_for(**context) or _recipient_identity_code(to)
    text, html = render_email(template, locale=locale, identity_code=identity_code, **context)
    return queue_rendered(to, subject, text, html, locale=locale, deliver=deliver, identity_code=identity_code)


def identity_code_for(**context) -> str | None:
    """The identity an e-mail about ``context`` wears (None: the page's, or the default département's)."""
    from .identity import identity_code_of
    from .models import Collectivity, User

    for value in context.values():
        if isinstance(value, Collectivity):
            return identity_code_of(value)
    for value in context.values():
        coll = getattr(value, "collectivity", None)
        if isinstance(coll, Collectivity):
            return identity_code_of(coll)
    user = context.get("user")
    if isinstance(user, User):
        return user_identity_code(user)
    return None


def _recipient_identity_code(address: str) -> str | None:
    from .models import User

    user = db.session.scalar(select(User).where(User.email == address))
    return user_identity_code(user) if user is not None else None


def user_identity_code(user) -> str | None:
    """The identity of a person's e-mails: that of their first collectivity (by membership), if any."""
    from .identity import identity_code_of
    from .models import Membership

    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id)
                                   .order_by(Membership.id).limit(1))
    return identity_code_of(membership.collectivity) if membership is not None else None


def render_email(template: str, *, locale: str | None = None, identity_code: str | None = None,
                 **context) -> tuple[str, str | None]:
    """The text and HTML (None without an ``.html`` template) of ``emails/<template>``, in ``locale``, wearing
    ``identity_code``'s identity (the page's without one)."""
    from .identity import wearing

    with force_locale(locale or "fr"), wearing(identity_code):
        text = render_template(f"emails/{template}.txt", **context)
        try:
            html = render_template(f"emails/{template}.html", **context)
        except Exception:  # noqa: BLE001 - the HTML part is optional
            html = None
    return text, html


def sender_for(identity_code: str | None = None) -> str:
    """``MAIL_SENDER``'s address under the portal name of identity ``identity_code`` (the page's without one)."""
    from email.utils import formataddr, parseaddr

    from .identity import current_identity, wearing

    with wearing(identity_code):
        name = current_identity().portal_name
    return formataddr((name, parseaddr(current_app.config["MAIL_SENDER"])[1] or "no-reply@extranet.localhost"))


def queue_rendered(to: str, subject: str, text: str, html: str | None = None, *, locale: str | None = None,
                   deliver: bool = True, flush: bool = True, identity_code: str | None = None) -> OutgoingEmail:
    """Add a message already rendered (:func:`render_email`) to the outbox — a mass mailing renders what many
    recipients share once. ``flush=False`` (with ``deliver=False``): the caller flushes the rows of a batch together
    (one multi-row INSERT instead of one statement per message) before it reads their ids."""
    with force_locale(locale or "fr"):
        subject = str(subject)
    domain = current_app.config["MAIL_SENDER"].rsplit("@", 1)[-1].strip(">") or "extranet.localhost"
    row = OutgoingEmail(
        to_address=to, subject=subject, body_text=text, body_html=html, message_id=make_msgid(domain=domain),
        headers={"From": sender_for(identity_code)},
    )
    db.session.add(row)
    if not flush and not deliver:
        return row
    db.session.flush()
    if deliver:
        enqueue_after_commit(deliver_email, row.id)
    return row


def build_message(row: OutgoingEmail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    headers = dict(row.headers or {})
    msg["From"] = headers.pop("From", None) or sender  # the recipient's département's portal name (queue_rendered)
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = format_datetime(dt.datetime.now(dt.timezone.utc))
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    return msg


def message_bytes(row: OutgoingEmail, sender: str) -> tuple[str, str, bytes] | None:
    """(envelope sender, recipient, the message as SMTP bytes) of ``row`` — the message :func:`build_message` builds
    (same headers, same text and HTML parts, base64 as the e-mail package writes it) without its object model, which
    costs more than the SMTP exchange itself in a mass mailing (the digest: 2 000 messages). None when the message
    needs what only the e-mail package does well (a recipient or header that is not plain ASCII): the caller then
    sends :func:`build_message`'s."""
    to = row.to_address
    if not to.isascii() or "\r" in to or "\n" in to or "," in to:
        return None
    headers = dict(row.headers or {})
    author = headers.pop("From", None) or sender  # the recipient's département's portal name (queue_rendered)
    head = [_folded("From", author), f"To: {to}\r\n", _folded("Subject", row.subject),
            f"Message-ID: {row.message_id}\r\n", f"Date: {format_datetime(dt.datetime.now(dt.timezone.utc))}\r\n"]
    for name, value in headers.items():
        value = str(value)
        if value.isascii() and "\r" not in value and "\n" not in value and len(name) + len(value) < 990:
            head.append(f"{name}: {value}\r\n")
        else:
            head.append(_folded(name, value))
    head.append("MIME-Version: 1.0\r\n")
    if row.body_html:
        boundary = "===============" + secrets.token_hex(12) + "=="
        head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n')
        mark = f"--{boundary}\r\n".encode("ascii")
        data = b"".join((
            "".join(head).encode("ascii"), mark, _PART_HEAD % b"plain", _base64(row.body_text), mark,
            _PART_HEAD % b"html", _base64(row.body_html), f"--{boundary}--\r\n".encode("ascii")))
    else:
        data = "".join(head).encode("ascii") + _PART_HEAD % b"plain" + _base64(row.body_text)
    return _envelope_sender(sender), to, data


_PART_HEAD = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'


def _base64(text: str) -> bytes:
    """A text part as the e-mail package encodes it in base64 (lines joined by LF, then CRLF between base64 lines)."""
    import base64

    lines = text.encode("utf-8").splitlines()
    return base64.encodebytes(b"\n".join(lines) + b"\n").replace(b"\n", b"\r\n")


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> str:
    """One header as the e-mail package folds and encodes it for SMTP (RFC 2047 words for accents); kept, as the
    sender and the subject of a mass mailing are the same for every message."""
    from email import policy

    msg = EmailMessage(policy=policy.SMTP)
    msg[name] = value
    return msg.policy.fold(name, msg[name])


@lru_cache(maxsize=16)
def _envelope_sender(sender: str) -> str:
    from email.utils import getaddresses

    return getaddresses([sender])[0][1]


def _open_smtp(cfg) -> smtplib.SMTP:
    """A connected, authenticated SMTP session (raises what smtplib raises)."""
    host, port, timeout = cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_TIMEOUT"]
    if cfg["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if cfg["MAIL_USE_TLS"] and not cfg["MAIL_USE_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send_smtp(msg, cfg, smtp: smtplib.SMTP | None = None) -> None:
    """Send ``msg`` (an EmailMessage, or the (sender, recipient, bytes) of :func:`message_bytes`) on ``smtp`` (an open
    session, kept open) or on a session of its own; smtplib's errors become :class:`TemporaryMailError` or
    :class:`PermanentMailError`."""
    try:
        if smtp is not None:
            _transmit(smtp, msg)
            return
        with _open_smtp(cfg) as own:
            _transmit(own, msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [c for c, _ in exc.recipients.values()]
        if all(400 <= c < 500 for c in codes):
            raise TemporaryMailError(str(exc)) from exc
        raise PermanentMailError(str(exc)) from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TemporaryMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise PermanentMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryMailError(repr(exc)) from exc


def _transmit(smtp: smtplib.SMTP, msg) -> None:
    if isinstance(msg, tuple):
        sender, to, data = msg
        smtp.sendmail(sender, [to], data)
    else:
        smtp.send_message(msg)


def _write_file(msg: EmailMessage, row: OutgoingEmail, outbox_dir: str) -> Path:
    folder = Path(outbox_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{utcnow():%Y%m%d-%H%M%S}-{row.id:06d}.eml"
    path.write_bytes(bytes(msg))
    log.warning(
        "E-mail not sent (no MAIL_SERVER): written to %s\n--- To: %s\n--- Subject: %s\n%s\n---",
        path, row.to_address, row.subject, row.body_text,
    )
    return path


def deliver(email_id: int) -> str:
    """Deliver one outbox row; returns its final status. Safe to call twice: only one caller claims the row."""
    cfg = current_app.config
    with Session(db.engine) as session:
        claimed = session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.id == email_id, OutgoingEmail.status == "pending")
            .values(status="sending", attempts=OutgoingEmail.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            return "skipped"
        row = session.get(OutgoingEmail, email_id)
        msg = build_message(row, cfg["MAIL_SENDER"])
        try:
            if cfg["MAIL_SERVER"]:
                _send_smtp(msg, cfg)
            else:
                _write_file(msg, row, cfg["MAIL_OUTBOX_DIR"])
        except TemporaryMailError as exc:
            row.last_error = str(exc)[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.status = "pending"
                row.next_attempt_at = utcnow() + dt.timedelta(seconds=30 * 2 ** (row.attempts - 1))
            log.warning("e-mail %s: temporary failure (%s), attempt %s", row.id, redact(exc), row.attempts)
        except PermanentMailError as exc:
            row.status, row.last_error = "failed", str(exc)[:2000]
            log.error("e-mail %s: permanent failure: %s", row.id, redact(exc))
        else:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
            log.info("e-mail %s sent", row.id)
        session.commit()
        return row.status


@celery_app.task(name="portal.deliver_email")
def deliver_email(email_id: int) -> str:
    return deliver(email_id)


BATCH = 100  # rows of a mass mailing per deliver_emails task (one SMTP connection each)
COMMIT_EVERY = 10  # outcomes of a batch committed together (see deliver_batch)


def deliver_batch(email_ids) -> dict[str, int]:
    """Deliver several outbox rows over one SMTP connection; returns counts by final status.

    The guarantees of :func:`deliver`: the rows are claimed (pending → sending) in one statement, so a second worker
    or a redelivered task sends none of them again; a message refused for now goes back to pending with its backoff,
    one refused for good is marked failed, nothing is dropped. Outcomes are committed every :data:`COMMIT_EVERY`
    messages (a commit per message would cost more than the message itself on SQLite): a worker killed in the middle
    of a batch leaves at most that many messages in ``sending`` although they left, and :func:`flush` sends them again
    after ``STALE_SENDING`` — the window :func:`deliver` has for its one message, widened to a few. A connection that
    breaks is opened again for the next message; one that cannot be opened leaves the rest of the batch for later.
    """
    cfg = current_app.config
    ids = sorted(set(email_ids))
    counts: dict[str, int] = {}
    if not ids:
        return counts
    with Session(db.engine, expire_on_commit=False) as session:
        claimed = session.scalars(
            update(OutgoingEmail)
            .where(OutgoingEmail.id.in_(ids), OutgoingEmail.status == "pending")
            .values(status="sending", attempts=OutgoingEmail.attempts + 1)
            .returning(OutgoingEmail.id)
        ).all()
        session.commit()
        counts["skipped"] = len(ids) - len(claimed)
        rows = session.scalars(select(OutgoingEmail).where(OutgoingEmail.id.in_(claimed))
                               .order_by(OutgoingEmail.id)).all()
        smtp, unreachable, uncommitted = None, None, 0
        try:
            for row in rows:
                msg = (message_bytes(row, cfg["MAIL_SENDER"]) if cfg["MAIL_SERVER"] else None) \
                    or build_message(row, cfg["MAIL_SENDER"])
                try:
                    if unreachable is not None:
                        raise unreachable
                    if cfg["MAIL_SERVER"]:
                        if smtp is None:
                            try:
                                smtp = _open_smtp(cfg)
                            except (OSError, smtplib.SMTPException) as exc:
                                unreachable = TemporaryMailError(repr(exc))
                                raise unreachable from exc
                        try:
                            _send_smtp(msg, cfg, smtp)
                        except TemporaryMailError as exc:
                            if not isinstance(exc.__cause__, (smtplib.SMTPResponseException,
                                                              smtplib.SMTPRecipientsRefused)):
                                smtp.close()  # the session broke (not a mere « try later »): a fresh one next
                                smtp = None
                            raise
                    else:
                        _write_file(msg, row, cfg["MAIL_OUTBOX_DIR"])
                except TemporaryMailError as exc:
                    _record_temporary(row, exc)
                except PermanentMailError as exc:
                    row.status, row.last_error = "failed", str(exc)[:2000]
                    log.error("e-mail %s: permanent failure: %s", row.id, redact(exc))
                else:
                    row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
                counts[row.status] = counts.get(row.status, 0) + 1
                uncommitted += 1
                if uncommitted >= COMMIT_EVERY:
                    session.commit()
                    uncommitted = 0
            session.commit()
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
    log.info("e-mail batch of %d: %s", len(ids), counts)
    return counts


def _record_temporary(row: OutgoingEmail, exc: Exception) -> None:
    row.last_error = str(exc)[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status = "pending"
        row.next_attempt_at = utcnow() + dt.timedelta(seconds=30 * 2 ** (row.attempts - 1))
    log.warning("e-mail %s: temporary failure (%s), attempt %s", row.id, redact(exc), row.attempts)


@celery_app.task(name="portal.deliver_emails")
def deliver_emails(email_ids: list[int]) -> dict[str, int]:
    return deliver_batch(email_ids)


def flush(now: dt.datetime | None = None) -> dict[str, int]:
    """Deliver every due pending row and reclaim rows stuck in 'sending'. Returns counts by final status."""
    now = now or utcnow()
    with Session(db.engine) as session:
        session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.status == "sending", OutgoingEmail.created_at < now - STALE_SENDING)
            .values(status="pending")
        )
        session.commit()
        due = session.scalars(
            select(OutgoingEmail.id).where(OutgoingEmail.status == "pending", OutgoingEmail.next_attempt_at <= now)
        ).all()
    counts: dict[str, int] = {}
    for start in range(0, len(due), BATCH):  # one SMTP connection per batch
        for status, n in deliver_batch(due[start:start + BATCH]).items():
            counts[status] = counts.get(status, 0) + n
    return {status: n for status, n in counts.items() if n}


@celery_app.task(name="portal.flush_outbox")
def flush_outbox() -> dict[str, int]:
    return flush()
