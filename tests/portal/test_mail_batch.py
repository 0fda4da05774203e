"""Mass mailings (the desk's digest) through the outbox: several rows over one SMTP connection, with the outbox's
guarantees row by row — claimed once, nothing sent twice, nothing lost when the server refuses or is away."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import SmtpController, free_port


class CountingServer:
    """A loopback SMTP server counting its sessions; ``refuse@`` is refused for good, ``busy@`` for now."""

    def __init__(self):
        self.sessions, self.delivered = 0, []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd API
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("refuse@"):
            return "550 5.1.1 No such user"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.delivered.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def counting(app):
    handler = CountingServer()
    controller = SmtpController(handler)
    controller.start()
    port = controller.port
    saved = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = port
    yield handler
    app.config["MAIL_PORT"] = saved
    controller.stop()


def _queue_many(app, addresses):
    from portal.extensions import db
    from portal.mail import queue_email

    with app.test_request_context("/"):
        ids = [queue_email(a, "Lettre", "reset", deliver=False, user=type("U", (), {"full_name": "T"})(),
                           link="http://x/y").id for a in addresses]
        db.session.commit()
    return ids


def _statuses(app, ids):
    from portal.extensions import db
    from portal.models import OutgoingEmail

    with app.app_context():
        return dict(db.session.execute(select(OutgoingEmail.to_address, OutgoingEmail.status)
                                       .where(OutgoingEmail.id.in_(ids))).all())


ADDRESSES = ["a@mairie.example.org", "refuse@mairie.example.org", "b@mairie.example.org",
             "busy@mairie.example.org", "c@mairie.example.org"]


def test_a_batch_goes_over_one_connection_and_each_row_gets_its_own_outcome(app, world, counting):
    from portal.mail import deliver_batch

    ids = _queue_many(app, ADDRESSES)
    assert counting.delivered == []  # deliver=False: the caller hands the batch over
    with app.app_context():
        counts = deliver_batch(ids)
    assert counts == {"skipped": 0, "sent": 3, "failed": 1, "pending": 1}
    assert counting.sessions == 1
    assert sorted(counting.delivered) == ["a@mairie.example.org", "b@mairie.example.org", "c@mairie.example.org"]
    assert _statuses(app, ids) == {"a@mairie.example.org": "sent", "refuse@mairie.example.org": "failed",
                                   "b@mairie.example.org": "sent", "busy@mairie.example.org": "pending",
                                   "c@mairie.example.org": "sent"}
    with app.app_context():  # the task delivered again (a redelivery, a second worker): nothing is sent twice
        again = deliver_batch(ids)
    assert again == {"skipped": 4, "pending": 1} and len(counting.delivered) == 3


def test_a_batch_handed_over_after_commit_is_delivered(app, world, counting):
    from portal.extensions import db
    from portal.mail import deliver_emails, queue_email
    from portal.outbox import enqueue_after_commit

    with app.test_request_context("/"):
        ids = [queue_email(f"p{i}@mairie.example.org", "Lettre", "reset", deliver=False,
                           user=type("U", (), {"full_name": "T"})(), link="http://x/y").id for i in range(7)]
        enqueue_after_commit(deliver_emails, *ids, batch=3)
        db.session.commit()
    assert len(counting.delivered) == 7 and counting.sessions == 3  # batches of 3, 3 and 1


def test_a_server_away_loses_nothing(app, world, counting):
    from portal.mail import deliver_batch, flush

    ids = _queue_many(app, ADDRESSES[:3])
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    try:
        with app.app_context():
            assert deliver_batch(ids) == {"skipped": 0, "pending": 3}
    finally:
        app.config["MAIL_PORT"] = port
    assert set(_statuses(app, ids).values()) == {"pending"}
    import datetime as dt

    with app.app_context():
        counts = flush(now=dt.datetime.utcnow() + dt.timedelta(minutes=5))
    assert counts == {"sent": 2, "failed": 1} and counting.sessions == 1
