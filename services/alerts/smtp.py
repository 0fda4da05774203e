"""One SMTP connection reused for a batch of alert e-mails (the fast sending path of :mod:`delivery`)."""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.message import EmailMessage

from portal.mail import PermanentMailError, TemporaryMailError, _send_smtp

_DOT_LINE = re.compile(rb"(?m)^\.")


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
        # The final "." of DATA goes in a write of its own (see send_raw): without this, Nagle's algorithm holds it
        # until the server acknowledges the body (up to the 40 ms of a delayed ACK per message).
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    def send_raw(self, sender: str, address: str, data: bytes, rebuild, on_accepting) -> None:
        """Send ready-made bytes on the shared connection and call ``on_accepting()`` (which records the outcome)
        right after the final "." of DATA is written, before the server's answer is read: the server accepts the
        message when it reads that dot, so recording it then, while the server works, leaves a worker killed at that
        instant the shortest time during which a message can be accepted and not recorded (sent again after a
        restart). A refusal of the message after the dot raises the classified error, and the caller records it
        over the optimistic outcome; an answer that never comes is a temporary error (sent again rather than lost).

        An error before the dot (connection, MAIL, RCPT, DATA) leaves nothing accepted: ``rebuild()`` gives the
        message again, it goes through the portal's ``_send_smtp`` (fresh connection, error classification), and
        ``on_accepting()`` is called once it was accepted."""
        if not self.cfg.get("MAIL_SERVER"):
            raise TemporaryMailError("MAIL_SERVER is not set")
        try:
            if self.conn is None or self.sent_on_conn >= self.per_connection:
                self.close()
                self.conn, self.sent_on_conn = self._open(), 0
            conn = self.conn
            conn.ehlo_or_helo_if_needed()
            code, resp = conn.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, resp, sender)
            code, resp = conn.rcpt(address)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({address: (code, resp)})
            code, resp = conn.docmd("data")
            if code != 354:
                raise smtplib.SMTPDataError(code, resp)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            conn.send(_DOT_LINE.sub(b"..", data))
        except (OSError, smtplib.SMTPException):
            self.close()
            _send_smtp(rebuild(), self.cfg)
            on_accepting()
            return
        try:
            conn.send(b".\r\n")
        except OSError as exc:  # the dot may have left: a temporary error sends again rather than lose
            self.close()
            raise TemporaryMailError(f"connection lost at the end of DATA: {exc!r}") from exc
        on_accepting()
        try:
            code, resp = conn.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TemporaryMailError(f"no answer after DATA: {exc!r}") from exc
        if code != 250:
            self.close()
            if 400 <= code < 500:
                raise TemporaryMailError(f"{code} {resp!r}")
            raise PermanentMailError(f"{code} {resp!r}")
        self.sent_on_conn += 1

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.conn = None
