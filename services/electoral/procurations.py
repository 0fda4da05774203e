"""Procurations (Code électoral L. 71 to L. 78, reform of 1 January 2022): the rules, the writes and the file import.

A mandant — a voter of this roll — lets a mandataire vote in their place. Since 2022 the mandataire may be registered
in another commune; they vote in the mandant's bureau. A procuration is valid for one election or for a period of at
most one year (R. 74). A mandant gives one procuration at a time; a mandataire holds at most two, of which only one
established in France (L. 73). The rules are checked within the commune's records (the REU checks the whole
country). Callers commit; a refusal raises :class:`ProcurationError` with a French message.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import logging

from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal import audit
from portal.extensions import db

from . import roll
from .labels import PROCURATION_AUTHORITIES
from .models import Election, Procuration, Voter, identity_key

log = logging.getLogger(__name__)

MAX_PERIOD = dt.timedelta(days=366)  # « dans la limite d'un an » (R. 74)


class ProcurationError(ValueError):
    """A rule refused the procuration; ``args[0]`` is French, for the user."""


def validity(election: Election | None, valid_from: dt.date | None, valid_until: dt.date | None,
             established_on: dt.date) -> tuple[dt.date, dt.date]:
    """The days a procuration covers: the election's rounds, or the period given (one year at most)."""
    if election is not None:
        return min(established_on, election.first_round), election.second_round or election.first_round
    if valid_from is None or valid_until is None:
        raise ProcurationError(_("Choose the election, or give the first and last day of validity."))
    if valid_until < valid_from:
        raise ProcurationError(_("The last day of validity comes after the first."))
    if valid_until - valid_from > MAX_PERIOD:
        raise ProcurationError(_("A procuration for a period lasts one year at most (article R. 74)."))
    return valid_from, valid_until


def _overlapping(stmt, start: dt.date, end: dt.date) -> list[Procuration]:
    return db.session.scalars(stmt.where(Procuration.cancelled_on.is_(None), Procuration.valid_from <= end,
                                         Procuration.valid_until >= start)).all()


def check(mandant: Voter, proxy_key: str, authority: str, start: dt.date, end: dt.date) -> None:
    """The rules of L. 72 and L. 73 for a new procuration covering ``start``–``end``."""
    if mandant.status != "registered":
        raise ProcurationError(_("The mandant must be on the roll."))
    if proxy_key == mandant.identity_key:
        raise ProcurationError(_("The mandant cannot be their own mandataire."))
    if _overlapping(select(Procuration).where(Procuration.mandant_id == mandant.id), start, end):
        raise ProcurationError(_("%(name)s already gave a procuration for these dates: cancel it first.",
                                 name=mandant.display_name))
    held = _overlapping(select(Procuration).where(Procuration.proxy_key == proxy_key), start, end)
    if authority != "consulate" and any(p.established_in_france for p in held):
        raise ProcurationError(_("This mandataire already holds a procuration established in France for these dates: "
                                 "one only is allowed (article L. 73)."))
    if len(held) >= 2:
        raise ProcurationError(_("This mandataire already holds two procurations for these dates (article L. 73)."))


def record(mandant: Voter, proxy: dict, election: Election | None, valid_from: dt.date | None,
           valid_until: dt.date | None, authority: str, established_on: dt.date, reference: str = "",
           source: str = "manual") -> Procuration:
    """Record a procuration. ``proxy``: birth_name, usage_name, first_names, birth_date, commune, ine."""
    if authority not in PROCURATION_AUTHORITIES:
        raise ProcurationError(_("Choose the authority that established the procuration."))
    start, end = validity(election, valid_from, valid_until, established_on)
    key = identity_key(proxy["birth_name"], proxy["first_names"], proxy["birth_date"])
    check(mandant, key, authority, start, end)
    email, _uid = roll._author()
    p = Procuration(commune_insee=mandant.commune_insee, mandant=mandant,
                    proxy_birth_name=proxy["birth_name"].strip().upper()[:100],
                    proxy_usage_name=(proxy.get("usage_name") or "").strip().upper()[:100],
                    proxy_first_names=proxy["first_names"].strip()[:200], proxy_birth_date=proxy["birth_date"],
                    proxy_commune=(proxy.get("commune") or "").strip()[:100],
                    proxy_ine=(proxy.get("ine") or "").strip()[:20], proxy_key=key, election=election,
                    valid_from=start, valid_until=end, authority=authority, established_on=established_on,
                    reference=reference.strip()[:60], source=source, author=email)
    db.session.add(p)
    db.session.flush()
    audit.record("electoral.procuration_recorded", target=p, voter=mandant.id, authority=authority,
                 election=election.id if election else None, start=start.isoformat(), end=end.isoformat())
    return p


def cancel(p: Procuration, day: dt.date) -> None:
    """Résiliation (R. 75): the procuration stays in the history, no longer active from ``day``."""
    if p.cancelled_on is not None:
        raise ProcurationError(_("This procuration is already cancelled."))
    p.cancelled_on = day
    audit.record("electoral.procuration_cancelled", target=p, voter=p.mandant_id)


def emargement_notes(voters, election: Election | None, today: dt.date | None = None) -> dict[int, str]:
    """What the émargement list prints beside each mandant: « Procuration : NAME First names, born on … »."""
    days = [election.first_round] + ([election.second_round] if election and election.second_round else []) \
        if election is not None else [today or local_today()]
    ids = {v.id for v in voters}
    notes = {}
    for p in db.session.scalars(select(Procuration).where(Procuration.cancelled_on.is_(None))
                                .order_by(Procuration.id)):
        if p.mandant_id in ids and any(p.active_on(d) for d in days):
            notes[p.mandant_id] = _("Procuration: %(name)s, born on %(day)s", name=p.proxy_name,
                                    day=p.proxy_birth_date.strftime("%d/%m/%Y"))
    return notes


# The REU's export of a commune's procurations: one line per procuration, ``;``-separated, dates DD/MM/YYYY.
IMPORT_COLUMNS = ["NomNaissanceMandant", "PrenomsMandant", "DateNaissanceMandant", "NomNaissanceMandataire",
                  "PrenomsMandataire", "DateNaissanceMandataire", "DateDebutValidite", "DateFinValidite", "Autorite",
                  "DateEtablissement"]
OPTIONAL_COLUMNS = ["NomUsageMandataire", "CommuneMandataire", "IneMandataire", "Reference"]
_AUTHORITY_ALIASES = {"police": "police", "commissariat": "police", "gendarmerie": "gendarmerie",
                      "consulat": "consulate", "ambassade": "consulate", "ma procuration": "online",
                      "en ligne": "online", "maprocuration": "online", "tribunal": "court", "court": "court",
                      "consulate": "consulate", "online": "online"}


def import_file(raw: bytes, today: dt.date | None = None) -> tuple[int, list[tuple[int, str]]]:
    """Record the procurations of an REU file → (recorded, [(line, French problem)]). Each line is checked like a
    procuration typed in; the caller commits only when there is no problem (all or nothing)."""
    from portal.models import fold

    from .csvio import FileError, decode

    reader = csv.DictReader(io.StringIO(decode(raw), newline=""), delimiter=";")
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise FileError(_("Mandatory columns missing from the first line: %(columns)s.", columns=", ".join(missing)))
    voters = {v.identity_key: v for v in db.session.scalars(select(Voter).where(Voter.status == "registered"))}
    done, errors = 0, []
    for line, row in enumerate(reader, start=2):
        get = {k: (v or "").strip() for k, v in row.items() if k}
        dates = {c: roll.parse_date(get[c]) if get.get(c) else None for c in
                 ("DateNaissanceMandant", "DateNaissanceMandataire", "DateDebutValidite", "DateFinValidite",
                  "DateEtablissement")}
        bad = [c for c, d in dates.items() if d is None]
        if bad:
            errors.append((line, _("invalid or missing date: %(columns)s", columns=", ".join(bad))))
            continue
        mandant = voters.get(identity_key(get["NomNaissanceMandant"], get["PrenomsMandant"],
                                          dates["DateNaissanceMandant"]))
        if mandant is None:
            errors.append((line, _("the mandant is not on the roll of the commune")))
            continue
        proxy = {"birth_name": get["NomNaissanceMandataire"], "first_names": get["PrenomsMandataire"],
                 "birth_date": dates["DateNaissanceMandataire"], "usage_name": get.get("NomUsageMandataire", ""),
                 "commune": get.get("CommuneMandataire", ""), "ine": get.get("IneMandataire", "")}
        try:  # record() checks every rule before it writes: a refused line leaves nothing behind
            record(mandant, proxy, None, dates["DateDebutValidite"], dates["DateFinValidite"],
                   _AUTHORITY_ALIASES.get(fold(get["Autorite"]), ""), dates["DateEtablissement"],
                   get.get("Reference", ""), source="import")
        except ProcurationError as exc:
            errors.append((line, str(exc)))
        else:
            done += 1
    return done, errors
