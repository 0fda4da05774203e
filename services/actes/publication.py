"""Publication of acts (ordonnance 2021-1310, décret 2021-1311) and the SCDL « Délibérations » open data.

Regulatory acts and decisions neither regulatory nor individual are published in full on the commune's public page
once the préfecture acknowledged them (the stamped PDF, with the date of online publication); individual acts never
(``access.published_acts_of``). :func:`scdl_csv` writes the délibérations in the SCDL 2.1.5 layout, whose Table
Schema ships in ``data/deliberations-2.1.5.schema.json``.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.models import Collectivity
from portal.responses import csv_text
from portal.urls import absolute_url

from . import operations
from .access import published_acts_of
from .models import Act, SeanceItem
from .seances import items_by_act

SCHEMA = Path(__file__).parent / "data" / "deliberations-2.1.5.schema.json"
SCDL_FIELDS = ("COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_MATIERE_NOM",
               "DELIB_OBJET", "BUDGET_ANNEE", "BUDGET_NOM", "PREF_ID", "PREF_DATE", "VOTE_EFFECTIF", "VOTE_REEL",
               "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION", "DELIB_URL")


def _matiere_name(labels: dict[str, str], code: str) -> str:
    return labels.get(code, "").lower()


def scdl_csv(coll: Collectivity, *, published_only: bool) -> str:
    """The délibérations (nature 1) of a collectivity as SCDL CSV (UTF-8, comma-separated, no BOM)."""
    stmt = (published_acts_of(coll) if published_only else
            select(Act).where(Act.collectivity_id == coll.id, Act.status != "draft").order_by(Act.decision_date))
    acts = [a for a in db.session.scalars(stmt.where(Act.nature == 1))]
    prefecture = operations.prefecture_of(coll)
    nom, _ours, _theirs = operations.nomenclature(prefecture)
    siret = operations.public_facts(coll)[0]
    votes = items_by_act(a.id for a in acts)
    rows = []
    for a in acts:
        code2 = ".".join(a.matiere.split(".")[:2])
        url = (absolute_url("actes_public.document", insee=coll.insee, act_id=a.id)
               if a.published_at and coll.insee else "")
        rows.append([coll.name, siret, a.number, a.decision_date.isoformat(), code2,
                     _matiere_name(nom.matieres, code2), a.subject, "", "",
                     prefecture if a.received_on else "", a.received_on.isoformat() if a.received_on else "",
                     *_vote_columns(votes.get(a.id)), url])
    return csv_text(rows, SCDL_FIELDS, delimiter=",", bom=False)


def _vote_columns(item: SeanceItem | None) -> list:
    """VOTE_EFFECTIF (members in office), VOTE_REEL (members present or represented), VOTE_POUR, VOTE_CONTRE,
    VOTE_ABSTENTION of a délibération voted in a séance; empty when the séance or the vote was not declared."""
    if item is None:
        return ["", "", "", "", ""]
    s = item.seance
    return [s.members_in_office or "", s.voters or "", *("" if v is None else v for v in
                                                          (item.votes_for, item.votes_against, item.abstentions))]
