"""Celery tasks of the Actes service (declared in the descriptor, imported by the worker). They run in system
context (``portal.tasks.AppTask``): the rows were written and checked by the user's transaction.

- ``actes.transmit``: one queued act to the TdT, handed over by the outbox after the commit of « envoyer »;
- ``actes.ocr``: text recognition of a scanned act, handed over after the commit of « rendre cherchable »;
- ``actes.poll`` (beat, every 5 minutes): statuses of the acts in flight (backoff per act on TdT failures), the
  préfecture's new documents, and queued acts a lost hand-off left behind;
- ``actes.certificate_reminders`` (beat, daily): e-mails about TdT certificates expiring in 60, 30 or 7 days, each
  once (``tdt_accounts.send_reminders``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.extensions import db
from portal.models import utcnow
from portal.tasks import celery_app

from . import ocr, tdt_accounts, transmission
from .models import Act

STALE_QUEUE = dt.timedelta(minutes=10)


@celery_app.task(name="actes.transmit")
def transmit_act(act_id: int) -> str:
    return transmission.transmit(act_id)


@celery_app.task(name="actes.ocr")
def ocr_act(act_id: int) -> str:
    """Text recognition of a scanned act (French, PDF/A), asked from the act's page."""
    return ocr.run(act_id)


@celery_app.task(name="actes.poll")
def poll() -> dict[str, int]:
    counts = transmission.poll_due()
    stale = db.session.scalars(select(Act.id).where(Act.status == "queued", Act.send_started_at.is_(None),
                                                    Act.updated_at < utcnow() - STALE_QUEUE))
    for act_id in list(stale):
        transmission.transmit(act_id)
        counts["requeued"] = counts.get("requeued", 0) + 1
    return counts


@celery_app.task(name="actes.certificate_reminders")
def certificate_reminders() -> int:
    return tdt_accounts.send_reminders()
