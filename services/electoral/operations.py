"""The writes of the electoral rolls other than a voter's movements (those are in :mod:`roll`): polling stations,
the street table, elections, imports and print jobs. Pages, the API, the CLI and the tasks call these functions;
none reads the HTTP request. Each one adds its audit event; the caller commits (or rolls back on an error, whose
message is French, for the user).
"""
from __future__ import annotations

import datetime as dt
import logging

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import fold
from portal.outbox import enqueue_after_commit
from portal.settings import setting

from . import csvio, printing
from .calendar import KIND_LISTS, KINDS
from .models import Election, ImportBatch, PollingStation, StreetBureau, Voter

log = logging.getLogger(__name__)


class Refused(ValueError):
    """A rule refused the write; ``args[0]`` is French, for the user; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


# Polling stations and the street table -------------------------------------------------------------------------

def _number_taken(number: str, other_than: int | None = None) -> bool:
    stmt = select(PollingStation.id).where(PollingStation.number == number)
    if other_than is not None:
        stmt = stmt.where(PollingStation.id != other_than)
    return db.session.scalar(stmt) is not None


def create_bureau(commune_insee: str, values: dict) -> PollingStation:
    if _number_taken(values["number"]):
        raise Refused(_("A polling station already has this number."), "number")
    b = PollingStation(commune_insee=commune_insee, **values)
    db.session.add(b)
    audit.record("electoral.bureau_created", target_type="PollingStation", number=values["number"])
    return b


def update_bureau(b: PollingStation, values: dict) -> dict:
    """Give the bureau ``values``; → the changes ({field: [before, after]}), audited when there are some."""
    if _number_taken(values["number"], other_than=b.id):
        raise Refused(_("A polling station already has this number."), "number")
    changes = {k: [getattr(b, k), v] for k, v in values.items() if getattr(b, k) != v}
    for k, (_before, after) in changes.items():
        setattr(b, k, after)
    if changes:
        audit.record("electoral.bureau_updated", target=b, changes=changes)
    return changes


def delete_bureau(b: PollingStation) -> None:
    """Delete a bureau and its streets; refused while a voter (registered or removed) refers to it."""
    count = lambda *cond: db.session.scalar(select(func.count(Voter.id)).where(Voter.bureau_id == b.id, *cond))  # noqa: E731
    registered, removed = count(Voter.status == "registered"), count(Voter.status != "registered")
    if registered or removed:
        log.info("electoral: deletion of bureau %s refused (%s registered, %s removed voters attached)",
                 b.id, registered, removed)
        if registered:
            raise Refused(_("Polling station %(n)s cannot be deleted: %(count)d voter(s) are attached to it. Move "
                            "them to another polling station first.", n=b.number, count=registered))
        raise Refused(_("Polling station %(n)s cannot be deleted: the history of %(count)d removed voter(s) refers "
                        "to it.", n=b.number, count=removed))
    # in the order of the bureaux page, so that the journal lists them alike on SQLite and PostgreSQL
    streets = db.session.scalars(select(StreetBureau).where(StreetBureau.bureau_id == b.id)
                                 .order_by(StreetBureau.street_key)).all()
    for row in streets:
        db.session.delete(row)
    audit.record("electoral.bureau_deleted", target=b, number=b.number, name=b.name,
                 streets=[row.street_label for row in streets])
    db.session.delete(b)


def assign_street(commune_insee: str, street: str, b: PollingStation) -> StreetBureau:
    """Send a street to a bureau (the street's existing row is moved)."""
    key = fold(street)
    row = db.session.scalar(select(StreetBureau).where(StreetBureau.street_key == key))
    if row is None:
        row = StreetBureau(commune_insee=commune_insee, street_key=key, street_label="")
        db.session.add(row)
    row.street_label, row.bureau = street.strip(), b
    audit.record("electoral.street_assigned", target_type="StreetBureau", street=key, bureau=b.number)
    return row


def update_street(row: StreetBureau, street: str, b: PollingStation | None) -> None:
    key = fold(street)
    clash = db.session.scalar(select(StreetBureau).where(StreetBureau.street_key == key, StreetBureau.id != row.id))
    if clash is not None:
        raise Refused(_("This street is already in the table (polling station %(n)s).", n=clash.bureau.number))
    if b is None:
        raise Refused(_("This polling station does not exist."))
    before = {"street": row.street_label, "bureau": row.bureau.number}
    row.street_key, row.street_label, row.bureau = key, street.strip(), b
    audit.record("electoral.street_updated", target=row, before=before,
                 after={"street": row.street_label, "bureau": b.number})


def delete_street(row: StreetBureau) -> None:
    audit.record("electoral.street_deleted", target=row, street=row.street_label, bureau=row.bureau.number)
    db.session.delete(row)


# Elections -----------------------------------------------------------------------------------------------------

def create_election(commune_insee: str, kind: str, first: dt.date, second: dt.date | None, title: str,
                    registration: tuple[dt.date, str] | None = None) -> Election:
    """A new election; ``registration`` is the (date, legal reference) of a deadline fixed by its decree."""
    if second is not None and second <= first:
        raise Refused(_("The second round comes after the first."), "second_round")
    e = Election(commune_insee=commune_insee, kind=kind, first_round=first, second_round=second,
                 title=title.strip() or f"{KINDS[kind]} {first.strftime('%d/%m/%Y')}",
                 lists=KIND_LISTS.get(kind, ["general"]), registration_deadline_reference="")
    _check_registration(e, registration)
    db.session.add(e)
    audit.record("electoral.election_created", target_type="Election", kind=e.kind,
                 registration_deadline=registration[0].isoformat() if registration else None)
    return e


def _check_registration(e: Election, registration: tuple[dt.date, str] | None) -> None:
    if registration is not None and registration[0] >= e.first_round:
        raise Refused(_("The registration deadline comes before the first round."), "registration_deadline")
    e.registration_deadline = registration[0] if registration else None
    e.registration_deadline_reference = registration[1].strip()[:300] if registration else ""


def set_registration_deadline(e: Election, registration: tuple[dt.date, str] | None) -> None:
    """Give the election the deadline its decree fixes, or (None) the deadline of article L. 17 again."""
    before = e.registration_deadline.isoformat() if e.registration_deadline else None
    _check_registration(e, registration)
    audit.record("electoral.election_deadline_set", target=e, before=before,
                 after=registration[0].isoformat() if registration else None,
                 reference=e.registration_deadline_reference or None)


# Imports -------------------------------------------------------------------------------------------------------

def removals_need_typing(plan: csvio.Plan) -> bool:
    """Many removals at once (a truncated file?) need their number typed, not a plain click. The threshold is
    ``ELECTORAL_IMPORT_REMOVAL_PERCENT`` % of the roll (default 10), at most ``ELECTORAL_IMPORT_REMOVAL_MAX`` (50)."""
    registered = db.session.scalar(select(func.count(Voter.id)).where(Voter.status == "registered")) or 0
    threshold = csvio.removal_threshold(registered, setting("ELECTORAL_IMPORT_REMOVAL_PERCENT"),
                                        setting("ELECTORAL_IMPORT_REMOVAL_MAX"))
    return len(plan.removed) > threshold


def apply_batch(batch: ImportBatch, commune_insee: str, typed_removals: str = "") -> dict:
    """Plan the batch's file again and write it; raises :class:`csvio.FileError` when the file or the typed number
    of removals does not allow it (nothing written)."""
    plan = csvio.plan_import(batch.content, commune_insee)
    if removals_need_typing(plan) and typed_removals.strip() != str(len(plan.removed)):
        log.info("electoral import %s: %d removals not confirmed by their number", batch.id, len(plan.removed))
        raise csvio.FileError(_("This import removes %(n)d voters: type this number in the box to confirm "
                                "the removals.", n=len(plan.removed)))
    summary = csvio.apply_import(plan, commune_insee, filename=batch.filename)
    batch.status = "applied"
    batch.summary = summary
    audit.record("electoral.import_applied", target=batch, **summary)
    return summary


def cancel_batch(batch: ImportBatch) -> None:
    batch.status = "cancelled"
    batch.content = b""
    audit.record("electoral.import_cancelled", target=batch, filename=batch.filename)


# Print jobs ----------------------------------------------------------------------------------------------------

def start_print(kind: str, commune, bureau: PollingStation | None, election: Election | None, user):
    """Write the print job and hand it to the worker once the caller commits."""
    from .tasks import run_print

    voters = len(printing.voters_for(bureau, election))
    job = printing.start(kind, commune, bureau, election, voters, user)
    enqueue_after_commit(run_print, job.id)
    return job
