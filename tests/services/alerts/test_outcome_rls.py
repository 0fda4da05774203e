"""Outcomes of the e-mail hot path under row-level security (PostgreSQL, application role of the suite).

The fast path records each outcome on an autocommit connection of its own; without the rows' territory on that
connection, row-level security made every UPDATE change nothing: deliveries stayed « sending » and the flush sent
them again every 10 minutes. On SQLite the same test checks the behaviour without RLS.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from .conftest import SAFETY, add_subscriber


def test_outcome_writer_records_the_delivery_and_flush_sends_nothing_more(app, world, alerts_world, smtp):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.alerts import delivery
    from services.alerts.models import Alert, Delivery, utcnow

    insee = world.insee_a
    safety = alerts_world[insee][SAFETY]
    for n in range(3):
        add_subscriber(app, insee, [safety], email=f"habitant{n}@example.org")
    with app.app_context(), territory_scope(None):
        alert = Alert(commune_insee=insee, kind="broadcast", title="Coupure d'eau", body="Demain de 8 h à 12 h.",
                      severity="moderate", channels=["email"], list_ids=[safety], status="queued", sent_at=utcnow())
        db.session.add(alert)
        delivery.queue_alert(alert, delivery.recipients(insee, [safety], ["email"]))
        db.session.commit()  # the batch leaves after the commit (Celery in-process in the tests)
        alert_id = alert.id
    assert len(smtp.messages) == 3
    with app.app_context(), territory_scope(None):
        statuses = db.session.scalars(select(Delivery.status).where(Delivery.alert_id == alert_id)).all()
        assert statuses == ["delivered"] * 3
        # Long after, the flush (beat, every minute) finds nothing to put back nor to send.
        counts = delivery.flush(now=utcnow() + dt.timedelta(hours=1))
        db.session.expire_all()
        assert db.session.scalars(select(Delivery.status).where(Delivery.alert_id == alert_id)).all() \
            == ["delivered"] * 3
    assert counts == {}
    assert len(smtp.messages) == 3
