"""The roll's rules: duplicates, the bureau proposed from the address, movements kept forever, the roll at a date.

Every function works inside the active territory (the portal's choke point), except
:func:`registered_elsewhere_in_department`, the one deliberate cross-territory lookup of the service.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import g, has_request_context
from flask_login import current_user
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db
from portal.models import fold
from portal.tenancy import current_territory, territory_scope

from .models import Movement, PollingStation, StreetBureau, Voter, identity_key

log = logging.getLogger(__name__)

REGISTRATION_REASONS = ("voluntary", "insee_18", "naturalisation", "court_decision", "arrival", "import", "demo")
REMOVAL_REASONS = ("death", "loss_of_attachment", "registered_elsewhere", "court_decision", "import")
REINSTATEMENT_REASONS = ("wrongful_removal", "commission_decision", "court_decision", "insee")
MOVEMENT_KINDS = ("registration", "removal", "reinstatement", "address", "bureau", "civil_status")
ON_ROLL_KINDS = ("registration", "reinstatement")  # movements after which the voter is on the roll

CIVIL_FIELDS = ("birth_name", "usage_name", "first_names", "sex", "birth_date", "birth_place", "birth_department",
                "birth_country", "nationality", "ine")
ADDRESS_FIELDS = ("street_number", "street_type", "street_name", "lieu_dit", "complement1", "complement2",
                  "postal_code", "city", "country")
LIST_FIELDS = ("on_general", "on_eu", "on_municipal")


class RollError(ValueError):
    """A rule of the roll refused the change; ``message`` is French, for the user."""


def _author():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.email, current_user.id
    return "system", None


def same_identity_here(birth_name: str, first_names: str, birth_date: dt.date, exclude_id: int | None = None):
    """Voters of the active commune with the same identity (registered or removed)."""
    stmt = select(Voter).where(Voter.identity_key == identity_key(birth_name, first_names, birth_date))
    if exclude_id:
        stmt = stmt.where(Voter.id != exclude_id)
    return db.session.scalars(stmt.order_by(Voter.id)).all()


def registered_elsewhere_in_department(birth_name: str, first_names: str, birth_date: dt.date,
                                       commune_insee: str) -> bool:
    """Is a registered voter with this identity on the roll of ANOTHER commune of the same department?

    The only cross-territory read of the service, kept narrow on purpose: it lifts the territory filter for one
    COUNT query on the identity key, returns only yes/no (never the commune, never a row) and writes an audit event.
    On PostgreSQL the row-level security setting is widened for that one statement and restored at once.
    """
    key = identity_key(birth_name, first_names, birth_date)
    department = commune_insee[:3] if commune_insee.startswith(("97", "98")) else commune_insee[:2]
    territory = current_territory()
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql("SELECT set_config('app.territory', '*', true)")
    try:
        with territory_scope(None):
            count = db.session.scalar(
                select(func.count()).select_from(Voter).where(
                    Voter.identity_key == key, Voter.status == "registered",
                    Voter.commune_insee != commune_insee, Voter.commune_insee.like(f"{department}%")))
    finally:
        if postgres:
            value = "*" if territory is None else ",".join(sorted(territory))
            conn.exec_driver_sql("SELECT set_config('app.territory', %s, true)", (value,))
    found = bool(count)
    audit.record("electoral.identity_checked_in_department", target_type="Voter", purpose="duplicate check",
                 found=found)
    return found


def propose_bureau(street_type: str, street_name: str, lieu_dit: str = "") -> PollingStation | None:
    """The bureau of the découpage for this street (or lieu-dit); the only bureau when the commune has one."""
    for key in (fold(f"{street_type} {street_name}"), fold(street_name), fold(lieu_dit)):
        if not key:
            continue
        row = db.session.scalars(select(StreetBureau).where(StreetBureau.street_key == key)).first()
        if row is not None:
            return row.bureau
    bureaux = db.session.scalars(select(PollingStation).limit(2)).all()
    return bureaux[0] if len(bureaux) == 1 else None


def add_movement(voter: Voter, kind: str, reason: str, effective_on: dt.date, note: str = "",
                 changes: dict | None = None, justification_name: str = "", justification: bytes | None = None):
    email, uid = _author()
    m = Movement(voter=voter, commune_insee=voter.commune_insee, kind=kind, reason=reason, effective_on=effective_on,
                 author=email, author_id=uid, note=note or "", changes=changes or {},
                 justification_name=justification_name or "", justification=justification)
    db.session.add(m)
    return m


def check_age(birth_date: dt.date, on: dt.date) -> None:
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if age < 18:
        raise RollError(_("This person is not 18 on the effective date: they cannot be registered."))
    if age > 125:
        raise RollError(_("The date of birth is not plausible."))


def register(commune_insee: str, data: dict, reason: str, effective_on: dt.date, note: str = "",
             bureau: PollingStation | None = None, forced_bureau_reason: str = "", justification_name: str = "",
             justification: bytes | None = None) -> Voter:
    """Register a voter (the caller checked duplicates first and showed them to the user)."""
    if reason not in REGISTRATION_REASONS:
        raise RollError(_("The reason for registration is not valid."))
    check_age(data["birth_date"], effective_on)
    if not (data.get("on_general") or data.get("on_eu") or data.get("on_municipal")):
        raise RollError(_("Choose at least one list."))
    if (data.get("on_eu") or data.get("on_municipal")) and not data.get("nationality"):
        raise RollError(_("The nationality is required for the complementary lists."))
    v = Voter(commune_insee=commune_insee, status="registered")
    for name in CIVIL_FIELDS + ADDRESS_FIELDS + LIST_FIELDS:
        if name in data:
            setattr(v, name, data[name])
    v.ine = (data.get("ine") or "").strip() or None
    proposed = propose_bureau(v.street_type, v.street_name, v.lieu_dit)
    v.bureau = bureau or proposed
    v.refresh_search()
    db.session.add(v)
    details = {}
    if bureau is not None and proposed is not None and bureau.id != proposed.id:
        details["bureau_forced"] = [proposed.number, bureau.number]
        note = (note + "\n" if note else "") + _("Polling station chosen by hand: %(reason)s", reason=forced_bureau_reason)
    add_movement(v, "registration", reason, effective_on, note=note, changes=details,
                 justification_name=justification_name, justification=justification)
    db.session.flush()
    audit.record("electoral.voter_registered", target=v, reason=reason)
    return v


def update(voter: Voter, data: dict, kind: str, reason: str, effective_on: dt.date, note: str = "",
           bureau: PollingStation | None = None, justification_name: str = "",
           justification: bytes | None = None) -> Movement | None:
    """Change of address / bureau / civil status: the before → after values go in the movement."""
    if voter.status != "registered":
        raise RollError(_("This voter has been removed from the roll."))
    changes = {}
    for name in CIVIL_FIELDS + ADDRESS_FIELDS + LIST_FIELDS:
        if name in data and (data[name] or None) != (getattr(voter, name) or None):
            before = getattr(voter, name)
            changes[name] = [_jsonable(before), _jsonable(data[name])]
            setattr(voter, name, data[name])
    if bureau is not None and bureau.id != voter.bureau_id:
        changes["bureau"] = [voter.bureau.number if voter.bureau else None, bureau.number]
        voter.bureau = bureau
    if not changes:
        return None
    if "birth_date" in changes:
        check_age(voter.birth_date, effective_on)
    voter.refresh_search()
    m = add_movement(voter, kind, reason, effective_on, note=note, changes=changes,
                     justification_name=justification_name, justification=justification)
    db.session.flush()
    audit.record("electoral.voter_changed", target=voter, kind=kind, fields=sorted(changes))
    return m


def remove(voter: Voter, reason: str, effective_on: dt.date, note: str = "", justification_name: str = "",
           justification: bytes | None = None) -> Movement:
    if reason not in REMOVAL_REASONS:
        raise RollError(_("The reason for removal is not valid."))
    if voter.status != "registered":
        raise RollError(_("This voter is already removed."))
    voter.status = "removed"
    m = add_movement(voter, "removal", reason, effective_on, note=note, justification_name=justification_name,
                     justification=justification)
    db.session.flush()
    audit.record("electoral.voter_removed", target=voter, reason=reason)
    return m


def reinstate(voter: Voter, reason: str, effective_on: dt.date, note: str = "", justification_name: str = "",
              justification: bytes | None = None) -> Movement:
    """Réinscription of a removed voter (removal made in error, decision of the commission de contrôle or of the
    court, notice of INSEE): the same voter and history, a new movement; the roll at a past date stays as it was."""
    if reason not in REINSTATEMENT_REASONS:
        raise RollError(_("The reason for reinstatement is not valid."))
    if voter.status != "removed":
        raise RollError(_("This voter is on the roll: there is nothing to reinstate."))
    removed_on = db.session.scalar(select(func.max(Movement.effective_on)).where(Movement.voter_id == voter.id,
                                                                                   Movement.kind == "removal"))
    if removed_on is not None and effective_on < removed_on:
        raise RollError(_("The reinstatement cannot take effect before the removal (%(day)s).",
                          day=removed_on.strftime("%d/%m/%Y")))
    if effective_on > local_today():
        raise RollError(_("The reinstatement cannot take effect in the future."))
    twins = [v for v in same_identity_here(voter.birth_name, voter.first_names, voter.birth_date, exclude_id=voter.id)
             if v.status == "registered"]
    if twins:
        raise RollError(_("A registered voter with the same identity is already on the roll: check the possible "
                          "duplicate before reinstating."))
    check_age(voter.birth_date, effective_on)
    voter.status = "registered"
    m = add_movement(voter, "reinstatement", reason, effective_on, note=note, justification_name=justification_name,
                     justification=justification)
    db.session.flush()
    audit.record("electoral.voter_reinstated", target=voter, reason=reason, effective_on=effective_on.isoformat())
    return m


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def roll_at(day: dt.date) -> list[int]:
    """Ids of the voters on the roll at the end of ``day``, rebuilt from the movements alone."""
    rows = db.session.execute(
        select(Movement.voter_id, Movement.kind).where(Movement.kind.in_(ON_ROLL_KINDS + ("removal",)),
                                                       Movement.effective_on <= day)
        .order_by(Movement.voter_id, Movement.effective_on, Movement.id)).all()
    state: dict[int, bool] = {}
    for voter_id, kind in rows:
        state[voter_id] = kind in ON_ROLL_KINDS
    return sorted(v for v, on in state.items() if on)


def _searched(stmt, q: str, bureau_id: int | None, status: str):
    """``stmt`` narrowed to the voters the search asks for (the territory is the choke point's)."""
    if status:
        stmt = stmt.where(Voter.status == status)
    if bureau_id:
        stmt = stmt.where(Voter.bureau_id == bureau_id)
    q = (q or "").strip()
    if q:
        day = parse_date(q)
        if day is not None:
            stmt = stmt.where(Voter.birth_date == day)
        elif q.replace(" ", "").isdigit() and len(q.replace(" ", "")) >= 6:
            stmt = stmt.where(Voter.ine == q.replace(" ", ""))
        else:
            for word in fold(q).split():
                stmt = stmt.where((Voter.search_name.like(f"%{word}%")) | (Voter.search_address.like(f"%{word}%")))
    return stmt.order_by(Voter.search_name, Voter.birth_date, Voter.id)


def _page_and_total(stmt, limit: int, offset: int, read):
    rows = read(stmt.limit(limit).offset(offset))
    if len(rows) < limit and (rows or not offset):  # the last page: no need to count
        return rows, offset + len(rows)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return rows, total


def search(q: str = "", bureau_id: int | None = None, status: str = "registered", limit: int = 50, offset: int = 0):
    """Accent- and case-insensitive search over name, birth date (JJ/MM/AAAA), INE and address: a page of voters
    and the number of voters found."""
    return _page_and_total(_searched(select(Voter), q, bureau_id, status), limit, offset,
                           lambda stmt: db.session.scalars(stmt).all())


# What a line of the roll's index shows, read as columns (no Voter built): see :func:`search_lines`.
LINE_COLUMNS = (Voter.id, Voter.birth_name, Voter.usage_name, Voter.first_names, Voter.birth_date,
                Voter.street_number, Voter.street_type, Voter.street_name, Voter.lieu_dit, Voter.complement1,
                Voter.complement2, Voter.bureau_id, Voter.on_general, Voter.on_eu, Voter.on_municipal)


def search_lines(q: str = "", bureau_id: int | None = None, status: str = "registered", limit: int = 50,
                 offset: int = 0):
    """:func:`search` for the roll's index: the same voters in the same order, as rows of :data:`LINE_COLUMNS`."""
    return _page_and_total(_searched(select(*LINE_COLUMNS), q, bureau_id, status), limit, offset,
                           lambda stmt: db.session.execute(stmt).all())


def parse_date(text: str) -> dt.date | None:
    """JJ/MM/AAAA (arrêté du 12/11/2013, art. 4 f) or AAAA-MM-JJ; None when it is not a real date."""
    text = (text or "").strip()
    try:
        if len(text) == 10 and text[2] == "/" and text[5] == "/":
            return dt.date(int(text[6:]), int(text[3:5]), int(text[:2]))
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return dt.date.fromisoformat(text)
    except ValueError:
        return None
    return None


def commune_insee() -> str:
    return g.collectivity.insee
