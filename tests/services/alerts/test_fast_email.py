"""The delivery hot path: list e-mails rendered from a template prepared once per alert and sent over one SMTP
connection, the outcome recorded as the final "." of DATA leaves. The rendered message must be the one
``build_email`` builds, and a refusal that comes only after the end of DATA must replace the recorded outcome."""
from __future__ import annotations

from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.conftest import SmtpController

from .conftest import SAFETY, add_subscriber

HEADERS = ("From", "To", "Subject", "Message-ID", "X-Mailin-custom", "List-Unsubscribe", "List-Unsubscribe-Post",
           "List-Id")


def _text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("kind", ["broadcast", "individual"])
def test_rendered_message_is_the_built_one(app, world, kind):
    from flask_babel import force_locale

    from services.alerts.messages import EmailTemplate, build_email, link_templates
    from services.alerts.models import Alert

    alert = Alert(id=7, commune_insee=world.insee_a, kind=kind, title="Crue de l'Aube — évacuation",
                  body="Montée des eaux : quittez les rez-de-chaussée.\n.\nLigne qui commence par un point.",
                  severity="severe", channels=["email"], list_ids=[1], legal_basis="Article R. 2212-1 du CGCT")
    row = SimpleNamespace(key="0123456789abcdef", address="habitant@example.org")
    sub = SimpleNamespace(token="tok-EN_123")
    with app.app_context(), force_locale("fr"):
        links = link_templates(world.insee_a)
        built = message_from_bytes(bytes(build_email(row, alert, sub if kind == "broadcast" else None, "Ailleville",
                                                     links)), policy=policy.default)
        raw = EmailTemplate(alert, "Ailleville", links).render(row.key, row.address,
                                                               sub.token if kind == "broadcast" else None)
    rendered = message_from_bytes(raw, policy=policy.default)
    for name in HEADERS:
        assert str(rendered[name] or "").strip() == str(built[name] or "").strip(), name
    assert rendered["Date"]
    assert rendered["X-Mailin-custom"] == "alerts-delivery:0123456789abcdef"
    assert _text(rendered) == _text(built)
    assert b"\r\n\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    if kind == "broadcast":
        assert "tok-EN_123" in _text(rendered) and "tok-EN_123" in str(rendered["List-Unsubscribe"])
    else:
        assert rendered["List-Unsubscribe"] is None and "R. 2212-1" in _text(rendered)


class _RefusesAfterData:
    """Accepts every recipient, then refuses the message of some of them at the end of DATA."""

    def __init__(self):
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        to = envelope.rcpt_tos[0]
        if to.startswith("filtered@"):
            return "554 5.7.1 Message refused by content filter"
        if to.startswith("full@"):
            return "452 4.2.2 Mailbox full"
        self.accepted.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def test_refusal_after_data_replaces_the_recorded_outcome(app, world, alerts_world):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.alerts import delivery
    from services.alerts.models import Alert, Delivery, Subscriber, utcnow

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    ok = add_subscriber(app, insee, [safety], email="lecteur@example.org")
    add_subscriber(app, insee, [safety], email="filtered@example.org")
    add_subscriber(app, insee, [safety], email="full@example.org")
    handler = _RefusesAfterData()
    controller = SmtpController(handler)
    controller.start()
    port = controller.port
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        with app.app_context(), territory_scope(None):
            alert = Alert(commune_insee=insee, kind="broadcast", title="Coupure d'eau", body="Demain de 8 h à 12 h.",
                          severity="moderate", channels=["email"], list_ids=[safety], status="queued",
                          sent_at=utcnow())
            db.session.add(alert)
            delivery.queue_alert(alert, delivery.recipients(insee, [safety], ["email"]))
            db.session.commit()  # the batch is sent after commit (Celery in-process in the tests)
            rows = {d.address: d for d in db.session.scalars(select(Delivery).where(Delivery.alert_id == alert.id))}
            assert rows["lecteur@example.org"].status == "delivered"
            assert rows["lecteur@example.org"].provider_message_id.startswith("<alert-")
            assert rows["filtered@example.org"].status == "failed"
            assert rows["filtered@example.org"].failure_reason == "address_refused"
            assert rows["full@example.org"].status == "pending"
            assert rows["full@example.org"].failure_reason == "temporary"
            assert rows["full@example.org"].next_attempt_at > utcnow()
            refused = db.session.scalar(select(Subscriber).where(Subscriber.email == "filtered@example.org"))
            assert refused.email_invalid == "address_refused"
    finally:
        app.config.update(saved)
        controller.stop()
    assert [str(m["To"]) for m in handler.accepted] == ["lecteur@example.org"]
    assert ok.token in handler.accepted[0].get_content()
