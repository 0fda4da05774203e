"""The one mail module: outbox rows in the user's transaction, real SMTP delivery, retries, file outbox."""
import datetime as dt

from sqlalchemy import func, select


def _queue(app, to, subject="Essai"):
    from portal.extensions import db
    from portal.mail import queue_email

    with app.test_request_context("/"):
        row = queue_email(to, subject, "reset", user=type("U", (), {"full_name": "Test"})(), link="http://x/y")
        db.session.commit()
        return row.id


def _row(app, email_id):
    from portal.extensions import db
    from portal.models import OutgoingEmail

    with app.app_context():
        db.session.expire_all()
        return db.session.get(OutgoingEmail, email_id)


def test_delivered_after_commit_to_real_smtp(app, world, smtp):
    email_id = _queue(app, "secretaire@mairie.example.org", "Bonjour")
    assert [m.to for m in smtp.messages] == [["secretaire@mairie.example.org"]]
    msg = smtp.messages[0]
    assert msg.subject == "Bonjour" and "http://x/y" in msg.text
    assert msg.msg["Message-ID"] == _row(app, email_id).message_id
    assert _row(app, email_id).status == "sent"


def test_nothing_sent_when_the_transaction_rolls_back(app, world, smtp):
    from portal.extensions import db
    from portal.mail import queue_email
    from portal.models import OutgoingEmail

    with app.test_request_context("/"):
        queue_email("x@example.org", "Jamais", "reset", user=None, link="http://x")
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(OutgoingEmail)) == 0
    assert smtp.messages == []


def test_permanent_refusal_is_not_retried(app, world, smtp):
    email_id = _queue(app, "refuse@mairie.example.org")
    row = _row(app, email_id)
    assert row.status == "failed" and "550" in row.last_error and row.attempts == 1


def test_temporary_failure_is_retried_with_backoff(app, world, smtp):
    from portal.extensions import db
    from portal.mail import flush
    from portal.models import OutgoingEmail

    email_id = _queue(app, "busy@mairie.example.org")
    row = _row(app, email_id)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > dt.datetime.utcnow()
    with app.app_context():
        assert flush() == {}  # not due yet
        r = db.session.get(OutgoingEmail, email_id)
        r.to_address = "ok@mairie.example.org"  # the server accepts it now
        db.session.commit()
        counts = flush(now=dt.datetime.utcnow() + dt.timedelta(minutes=5))
    assert counts == {"sent": 1}
    assert smtp.messages[-1].to == ["ok@mairie.example.org"]


def test_server_down_keeps_the_row_and_deliver_is_idempotent(app, world, smtp):
    from portal.mail import deliver
    from tests.conftest import free_port

    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    try:
        email_id = _queue(app, "maire@example.org")
    finally:
        app.config["MAIL_PORT"] = port
    row = _row(app, email_id)
    assert row.status == "pending" and "refused" in row.last_error.lower()
    with app.app_context():
        from portal.extensions import db
        from portal.models import OutgoingEmail

        r = db.session.get(OutgoingEmail, email_id)
        r.next_attempt_at = dt.datetime.utcnow()
        db.session.commit()
        assert deliver(email_id) == "sent"
        assert deliver(email_id) == "skipped"  # a second worker, or a redelivered task, sends nothing
    assert len(smtp.messages) == 1


def test_file_outbox_without_mail_server(app, world, smtp, tmp_path, caplog):
    server, folder = app.config["MAIL_SERVER"], app.config["MAIL_OUTBOX_DIR"]
    app.config["MAIL_SERVER"], app.config["MAIL_OUTBOX_DIR"] = "", str(tmp_path)
    try:
        with caplog.at_level("WARNING", logger="portal.mail"):
            email_id = _queue(app, "maire@example.org", "Hors ligne")
    finally:
        app.config["MAIL_SERVER"], app.config["MAIL_OUTBOX_DIR"] = server, folder
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1 and b"Subject: Hors ligne" in files[0].read_bytes()
    assert "http://x/y" in caplog.text and _row(app, email_id).status == "sent"
    assert smtp.messages == []
