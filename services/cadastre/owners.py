"""Owners of parcels: CSV import (all-or-nothing, per-line report) and audited reads.

CSV layout (UTF-8, or Windows-1252; separator ``;`` or ``,``; one line per right on one parcel; header required):

=================  ===========================================================================================
column             content
=================  ===========================================================================================
``parcelle``       14-character parcel id (commune + préfixe + section + numéro), e.g. ``25354000AB0001``
``compte``         compte communal (account number), e.g. ``+00123``
``droit``          the right: propriétaire, usufruitier, nu-propriétaire, gérant… (free text, required)
``type``           ``physique`` (a person) or ``morale`` (a legal person)
``nom_usage``      person: usage name (optional when it is the birth name)
``nom_naissance``  person: birth name
``prenoms``        person: first names
``date_naissance`` person: birth date, ``JJ/MM/AAAA`` or ``AAAA-MM-JJ`` (optional)
``denomination``   legal person: name
``siren``          legal person: SIREN, 9 digits (optional; checked with the Luhn key)
``adresse``        postal address (optional)
=================  ===========================================================================================

Importing the owners of a commune replaces all its previous owner rows in one transaction.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from flask import g
from sqlalchemy import delete, select

from portal import audit
from portal.extensions import db
from portal.models import fold

from .problems import ImportFailed
from .readers import IDU_RE
from .models import Owner, Parcel
from .problems import N_
from .textfile import decode_csv

COLUMNS = ("parcelle", "compte", "droit", "type", "nom_usage", "nom_naissance", "prenoms", "date_naissance",
           "denomination", "siren", "adresse")
REQUIRED = ("parcelle", "compte", "droit", "type")
KINDS = {"physique": "person", "personne": "person", "p": "person", "morale": "legal", "m": "legal"}


@dataclass
class OwnersReport:
    commune: str = ""
    rows: int = 0
    parcels: int = 0
    accounts: int = 0
    unknown_parcels: list[str] = field(default_factory=list)
    replaced: int = 0

    def lines(self) -> list[str]:
        out = [f"commune {self.commune}: {self.rows} owner rows on {self.parcels} parcels, {self.accounts} accounts "
               f"(replacing {self.replaced} rows)"]
        if self.unknown_parcels:
            out.append(f"  parcels not in the current plan: {', '.join(self.unknown_parcels[:20])}"
                       + (" …" if len(self.unknown_parcels) > 20 else ""))
        return out


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _date(value: str):
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            pass
    return None



def parse(raw: bytes, commune: str) -> tuple[list[dict], list[str]]:
    text = decode_csv(raw)
    if not text.strip():
        return [], [N_("the file is empty")]
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [N_("line 1: missing column(s) %(columns)s (expected: %(expected)s)", columns=", ".join(missing), expected=";".join(COLUMNS))]
    reader.fieldnames = header
    rows, errors = [], []
    for n, rec in enumerate(reader, start=2):
        r = {k: (rec.get(k) or "").strip() for k in COLUMNS}
        problems = []
        idu = r["parcelle"].upper()
        if not IDU_RE.match(idu):
            problems.append(N_("parcel id %(id)r is not a 14-character id", id=r["parcelle"]))
        elif idu[:5] != commune:
            problems.append(N_("parcel %(id)s is not in commune %(commune)s", id=idu, commune=commune))
        if not r["compte"]:
            problems.append(N_("compte is empty"))
        if not r["droit"]:
            problems.append(N_("droit is empty"))
        kind = KINDS.get(r["type"].lower())
        if kind is None:
            problems.append(N_("type %(value)r is neither 'physique' nor 'morale'", value=r["type"]))
        birth = None
        if kind == "person":
            if not (r["nom_naissance"] or r["nom_usage"]):
                problems.append(N_("a person needs nom_naissance or nom_usage"))
            if r["date_naissance"]:
                birth = _date(r["date_naissance"])
                if birth is None:
                    problems.append(N_("date_naissance %(value)r is not JJ/MM/AAAA", value=r["date_naissance"]))
        if kind == "legal":
            if not r["denomination"]:
                problems.append(N_("a legal person needs denomination"))
            siren = r["siren"].replace(" ", "")
            if siren and not (re.fullmatch(r"\d{9}", siren) and _luhn_ok(siren)):
                problems.append(N_("siren %(value)r is not a valid SIREN", value=r["siren"]))
            r["siren"] = siren
        if problems:
            errors.append(N_("line %(n)s: %(problems)s", n=n, problems=problems))
            continue
        rows.append({
            "commune_insee": commune, "idu": idu, "account": r["compte"][:12], "right": r["droit"][:40],
            "kind": kind, "usage_name": r["nom_usage"][:120], "birth_name": r["nom_naissance"][:120],
            "first_names": r["prenoms"][:120], "birth_date": birth, "legal_name": r["denomination"][:200],
            "siren": r["siren"] or None if kind == "legal" else None, "address": r["adresse"][:300],
            "search_name": fold(" ".join([r["nom_usage"], r["nom_naissance"], r["prenoms"], r["denomination"]]))[:400],
        })
    if not rows and not errors:
        errors.append(N_("the file has a header but no line"))
    return rows, errors


def import_owners(raw: bytes, commune: str, *, allowed_communes=None, user=None, on_success=None) -> OwnersReport:
    """Replace the owners of ``commune`` by those of the CSV, or raise ImportFailed (nothing changed)."""
    from portal.models import Collectivity

    coll = db.session.scalar(select(Collectivity).where(Collectivity.insee == commune,
                                                        Collectivity.kind == "commune"))
    if coll is None:
        raise ImportFailed([N_("commune %(insee)s is not in the collectivity table of this portal", insee=commune)])
    if allowed_communes is not None and commune not in allowed_communes:
        raise ImportFailed([N_("commune %(insee)s is outside the territory you administer", insee=commune)])
    rows, errors = parse(raw, commune)
    if errors:
        raise ImportFailed(errors)
    known = set(db.session.scalars(select(Parcel.idu).where(Parcel.commune_insee == commune,
                                                           Parcel.current.is_(True))))
    report = OwnersReport(commune=commune, rows=len(rows), parcels=len({r["idu"] for r in rows}),
                          accounts=len({r["account"] for r in rows}),
                          unknown_parcels=sorted({r["idu"] for r in rows} - known))
    try:
        report.replaced = db.session.execute(delete(Owner).where(Owner.commune_insee == commune)).rowcount or 0
        db.session.execute(Owner.__table__.insert(), rows)
        audit.record("cadastre.owners.import", target_type="Collectivity", target_id=coll.id, collectivity=coll,
                     user=user, rows=len(rows), replaced=report.replaced)
        if on_success is not None:
            on_success(report)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


# Reading (views) ----------------------------------------------------------------------------------------------------

def can_read_owners() -> bool:
    return "cadastre.owners.read" in g.get("permissions", set())


def owners_of(idus, purpose: str, context: str) -> dict[str, list[Owner]]:
    """Owners of the parcels (territory-scoped), with ONE audit event naming the parcels and the purpose."""
    idus = sorted(set(idus))
    found: dict[str, list[Owner]] = {i: [] for i in idus}
    if not idus:
        return found
    for o in db.session.scalars(select(Owner).where(Owner.idu.in_(idus)).order_by(Owner.account, Owner.id)):
        found[o.idu].append(o)
    audit.record("cadastre.owners.read", target_type="Parcel", target_id=idus[0] if len(idus) == 1 else "",
                 purpose=purpose, context=context, parcels=idus)
    db.session.commit()
    return found


def search_owners(q: str, purpose: str) -> list[Owner]:
    words = fold(q).split()
    if not words or sum(len(w) for w in words) < 2:
        return []
    stmt = select(Owner)
    for w in words:
        stmt = stmt.where(Owner.search_name.contains(w))
    found = db.session.scalars(stmt.order_by(Owner.search_name, Owner.idu).limit(200)).all()
    audit.record("cadastre.owners.search", target_type="Owner", target_id="", purpose=purpose, query=q[:100],
                 results=len(found))
    db.session.commit()
    return found


def account_rows(account: str, purpose: str, commune: str | None = None) -> list[Owner]:
    """The rights of an owner account (compte communal). Account numbers are per commune: an EPCI user names the
    commune (``commune``) so that two communes' accounts of the same number are not mixed."""
    stmt = select(Owner).where(Owner.account == account)
    if commune:
        stmt = stmt.where(Owner.commune_insee == commune)
    rows = db.session.scalars(stmt.order_by(Owner.idu)).all()
    if rows:
        audit.record("cadastre.owners.statement", target_type="OwnerAccount", target_id=account[:60], purpose=purpose,
                     parcels=len({r.idu for r in rows}), commune=commune or None)
        db.session.commit()
    return rows
