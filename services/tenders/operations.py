"""Writes of the tenders service shared by the staff pages, the public pages, the CLI and the Celery task.

Nothing here reads ``flask.request``: the caller passes what the person typed (a form mapping) and who acted, so the
beat task and ``flask tenders close-expired`` run the very function the pages run. Each function adds its audit event
to the transaction; the caller commits (except :func:`close_expired`, called on its own by pages and tasks).
"""
from __future__ import annotations

import datetime as dt
import logging

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.identity import latest_wall, local_wall, today as local_today
from portal import audit
from portal.audiences import audience_scope
from portal.extensions import db

from . import documents, ending, opendata, storage, wizard
from .access import owned_tenders
from .models import Tender, TenderAttachment, TenderAward

log = logging.getLogger(__name__)


def close_expired(now: dt.datetime | None = None) -> int:
    """Published consultations whose deadline has passed become closed (called by pages and by the Celery task).

    Whoever's page notices it, the deadline closes any buyer's consultation: the writes are made in the system
    context (``audience_scope(None)``), which row-level security lets write every tender (tenders_0008_tender_rls);
    the transaction that wrote them ends here, and the settings of the request's viewer with it."""
    expired = [t for t in db.session.scalars(select(Tender).where(Tender.status == "published",
                                                                  Tender.reception_deadline <= (now or latest_wall())))
               if t.reception_deadline <= (now or local_wall(t.collectivity))]  # each in its département's time
    if not expired:
        return 0
    with audience_scope(None):
        for t in expired:
            t.status = "closed"
            audit.record("tenders.closed", target=t, collectivity=t.collectivity, user=None, reference=t.reference)
        db.session.commit()
    log.info("tenders: %d consultation(s) closed at their deadline", len(expired))
    return len(expired)


def next_reference() -> str:
    """The next free reference of the active collectivity's consultations: « 2026-004 »."""
    year = local_today().year
    # the count names Tender at the top of the statement, so the session writes the viewer first: drafts counted
    count = db.session.scalar(owned_tenders().with_only_columns(func.count(Tender.id))) or 0
    ref = f"{year}-{count + 1:03d}"
    while db.session.scalar(owned_tenders().where(Tender.reference == ref)):
        y, n = ref.split("-")
        ref = f"{y}-{int(n) + 1:03d}"
    return ref


def create_draft(collectivity, user_id: int) -> Tender:
    """A new draft of ``collectivity``, numbered, audited (not committed)."""
    t = Tender(collectivity_id=collectivity.id, reference=next_reference(), created_by_id=user_id,
               launch_date=local_today(collectivity), contact_email=collectivity.email or "")
    db.session.add(t)
    db.session.flush()
    audit.record("tenders.created", target=t, reference=t.reference)
    return t


def apply_proposed_calendar(t: Tender) -> None:
    """Step 4's « propose »: the legal calendar from today and the publication media the procedure requires."""
    for k, v in wizard.propose_calendar(t).items():
        setattr(t, k, v)
    advice = wizard.media_advice(t)
    t.media = [m for m, v in advice.items() if v in ("required", "required_one")]
    if "required_one" in advice.values():
        t.media = [m for m in t.media if m != "jal"]
    t.media.append("portal")


def publish_correction(t: Tender, form, user_id: int | None) -> dict:
    """Apply a correction notice (ending.correct), rebuild the DCE and audit it; {} or the French errors.

    Commits on success: the new DCE file and the notice stand or fall together.
    """
    c, errors = ending.correct(t, form, user_id)
    if errors:
        log.info("tenders: correction of tender %s refused: %s", t.id, errors)
        return errors
    db.session.flush()
    # the RC, the notice and the new « avis rectificatif » state the new values
    storage.replace_dce(db.session, t, documents.dce_zip(t))
    audit.record("tenders.corrected", target=t, reference=t.reference, number=c.number,
                 changes=[ch["field"] for ch in c.changes])
    db.session.commit()
    return {}


def add_attachment(t: Tender, filename: str, content: bytes) -> str | None:
    """Check and store a file of the buyer for the DCE (not committed); None, or the French reason it is refused.
    ``content`` is read up to one byte over the limit, so that a larger file is told apart."""
    ext = storage.extension(filename)
    if ext not in storage.TYPES:
        return _("This type of file is not accepted (accepted: %(ext)s).", ext=", ".join(sorted(storage.TYPES)))
    limit = storage.max_attachment()
    if len(content) > limit:
        return _("The file is too large (%(mb)d MB at most).", mb=limit // (1024 * 1024))
    if not content:
        return _("The file is empty.")
    try:
        storage.check_attachment(content, filename)
    except storage.UploadRejected as exc:
        log.info("tenders: upload to tender %s refused: %s", t.id, exc.reason_en)
        return str(exc.message_fr)
    if sum(x.size for x in t.attachments) + len(content) > storage.max_total():
        return _("The attachments of a consultation cannot exceed %(mb)d MB in all: remove a file first.",
                 mb=storage.max_total() // (1024 * 1024))
    stored = storage.save_for(db.session, "attachments", t.id, content)
    a = TenderAttachment(tender=t, filename=documents.safe_name(filename), mimetype=storage.mimetype(ext),
                         storage_key=stored.key, sha256=stored.sha256, size=stored.size)
    db.session.add(a)
    audit.record("tenders.attachment_added", target=t, filename=a.filename, size=a.size, sha256=a.sha256)
    return None


def extension_notice(t: Tender, new: dt.datetime) -> dict:
    """The correction notice that pushes the deadline back to ``new``, the calendar moving by the same shift."""
    shift = new - t.reception_deadline
    form = {"reception_deadline": new.isoformat(),
            "reason": f"Report de la date limite de réception des offres au {new:%d/%m/%Y à %H h %M}."}
    if t.questions_deadline:
        form["questions_deadline"] = (t.questions_deadline + shift).isoformat()
    if t.opening_date:
        form["opening_date"] = max(t.opening_date, new.date() + dt.timedelta(days=1)).isoformat()
    return form


def delete_draft(t: Tender) -> None:
    """Drop a draft and, once the transaction commits, its files (not committed here)."""
    audit.record("tenders.deleted", target=t, reference=t.reference)
    for a in t.attachments:
        storage.discard(db.session, a.storage_key)
    storage.discard(db.session, t.dce_key)
    db.session.delete(t)


def record_award(t: Tender, values: dict) -> str | None:
    """Record (or correct) the award of one lot from :func:`schemas.award_form`'s values, checking that the open
    data stay valid; None, or the English reason the DECP/OCDS would be invalid (the caller rolls back)."""
    a = t.award_of(values["lot"])
    if a is None:
        a = TenderAward(tender_id=t.id, lot_number=values["lot"])
        t.awards.append(a)
        db.session.add(a)
    for name in ("holder_name", "holder_siret", "amount_ht", "notified_on", "offers_received", "price_form"):
        setattr(a, name, values[name])
    a.data_published_on = local_today(t.collectivity)
    try:
        opendata.decp_document([t])
        opendata.ocds_release(t)
    except opendata.OpenDataError as exc:
        log.warning("tenders: award of tender %s gives invalid open data: %s", t.id, exc)
        return str(exc)
    if t.fully_awarded:
        t.status = "awarded"
    audit.record("tenders.awarded", target=t, lot=values["lot"], holder_siret=a.holder_siret,
                 amount=str(a.amount_ht))
    return None
