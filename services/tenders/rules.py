"""Rules engine: which procedure the Code de la commande publique asks for, and why.

The thresholds are data (``data/thresholds.json``): each row has a rule, natures, an amount HT, validity dates and
its source. This module only reads them; changing a threshold never edits code.

Rules applied, for a commune or an EPCI, on the estimated amount HT over the whole duration (renewals included,
R2121-1 and following):
- amount below the ``no_publicity_below`` row → no publicity nor competition required (R2122-8);
- otherwise below the ``formalised_from`` row → procédure adaptée (MAPA), with a notice in the BOAMP or a JAL
  from the ``publication_notice_from`` row (R2131-12), free publicity below;
- from the ``formalised_from`` row → formalised procedure (appel d'offres, R2124-1).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _

from portal.typography import number

DATA = Path(__file__).parent / "data"
NATURES = ("works", "supplies", "services")
BUYER_TYPES = ("commune", "epci")
MAX_AMOUNT = Decimal("10000000000")  # 10 billion € HT: beyond, the figure is a typing error


class RulesError(ValueError):
    """Input the engine cannot decide on (unknown nature, no thresholds for the date…); the message is French."""


@dataclass(frozen=True)
class Threshold:
    id: str
    rule: str
    natures: tuple[str, ...]
    amount: Decimal
    valid_from: dt.date
    valid_to: dt.date | None
    article: str
    source: str
    verified: str
    text: str = ""  # the provision as it was read, quoted

    def applies(self, nature: str, on: dt.date) -> bool:
        return nature in self.natures and self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass
class Decision:
    procedure: str  # "none" (no publicity required), "mapa", "formalised"
    publicity: str  # "free", "boamp_or_jal", "boamp_and_joue"
    nature: str
    amount: Decimal
    on: dt.date
    thresholds: dict[str, Threshold]
    reasons: list[str] = field(default_factory=list)  # French sentences, each with its article
    min_days: int = 0
    deadline_article: str = ""

    @property
    def articles(self) -> list[str]:
        return [t.article for t in self.thresholds.values()]

    @property
    def label(self) -> str:
        return procedure_label(self.procedure)


def procedure_label(code: str) -> str:
    return {
        "none": _("Contract without publicity or competition"),
        "mapa": _("Adapted procedure (MAPA)"),
        "formalised": _("Formalised procedure (open call for tenders)"),
    }.get(code, code)


def nature_label(code: str) -> str:
    return {"works": _("Works"), "supplies": _("Supplies"), "services": _("Services")}.get(code, code)


@lru_cache(maxsize=1)
def load() -> tuple[list[Threshold], list[dict]]:
    raw = json.loads((DATA / "thresholds.json").read_text(encoding="utf-8"))
    rows = [
        Threshold(
            id=r["id"], rule=r["rule"], natures=tuple(r["natures"]), amount=Decimal(str(r["amount"])),
            valid_from=dt.date.fromisoformat(r["valid_from"]),
            valid_to=dt.date.fromisoformat(r["valid_to"]) if r.get("valid_to") else None,
            article=r["article"], source=r["source"], verified=r["verified"], text=r.get("text", ""),
        )
        for r in raw["rows"]
    ]
    return rows, raw["deadlines"]


def thresholds_on(nature: str, on: dt.date) -> dict[str, Threshold]:
    """The one row of each rule in force on that date for that nature."""
    rows, _deadlines = load()
    found: dict[str, Threshold] = {}
    for t in rows:
        if t.applies(nature, on):
            if t.rule in found:
                raise RulesError(f"two threshold rows {found[t.rule].id} and {t.id} overlap on {on}")
            found[t.rule] = t
    return found


def fmt_eur(amount) -> str:
    """« 100 000 € », « 85 000,50 € »: the portal's French number format (``portal.typography.number``), cents only
    when there are some, as thresholds and estimates are written in the Code and in notices."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"{number(value, 0 if value == value.to_integral() else 2)}\u00a0€"


def decide(nature: str, amount, on: dt.date, buyer_type: str = "commune") -> Decision:
    """The procedure for a contract of that nature and estimated amount HT, launched on ``on``.

    Over 60 lines on purpose: most of it is the French explanation of each of the three outcomes, each quoting its
    article, and a buyer's lawyer checks the thresholds, the outcomes and their wording together, top to bottom."""
    if nature not in NATURES:
        raise RulesError(_("Choose the nature of the contract: works, supplies or services."))
    if buyer_type not in BUYER_TYPES:
        raise RulesError(_("The portal only knows the rules for communes and groupings of communes (EPCI)."))
    try:
        amount = Decimal(str(amount))
    except Exception as exc:  # noqa: BLE001 - any unparsable amount is a user error
        raise RulesError(_("The estimated amount must be a number of euros excluding tax.")) from exc
    if amount <= 0:
        raise RulesError(_("The estimated amount must be greater than zero."))
    if amount >= MAX_AMOUNT:
        raise RulesError(_("This amount looks wrong (10 billion euros or more): check the figure."))
    th = thresholds_on(nature, on)
    missing = {"no_publicity_below", "publication_notice_from", "formalised_from"} - set(th)
    if missing:
        raise RulesError(_("The portal does not know the thresholds in force on %(date)s: ask the department.",
                           date=on.strftime("%d/%m/%Y")))
    dispense, notice, formal = th["no_publicity_below"], th["publication_notice_from"], th["formalised_from"]
    _rows, deadlines = load()
    dl = {d["procedure"]: d for d in deadlines}
    nat = nature_label(nature).lower()
    period = _("thresholds in force on %(date)s", date=on.strftime("%d/%m/%Y"))
    d = Decision(procedure="", publicity="", nature=nature, amount=amount, on=on, thresholds=th)
    if amount < dispense.amount:
        d.procedure, d.publicity = "none", "free"
        d.thresholds = {"no_publicity_below": dispense}
        d.reasons.append(_(
            "The estimated amount (%(amount)s HT) is below %(threshold)s HT for %(nature)s (%(period)s): the "
            "contract may be concluded without publicity or competition (article %(article)s). Choose a suitable "
            "offer, use public money well and do not always contract with the same company when several could "
            "meet the need.", amount=fmt_eur(amount), threshold=fmt_eur(dispense.amount), nature=nat,
            period=period, article=dispense.article))
        d.reasons.append(_("Keep a written trace of the comparison of quotes: it is good practice and protects "
                           "the commune."))
    elif amount < formal.amount:
        d.procedure = "mapa"
        d.reasons.append(_(
            "The estimated amount (%(amount)s HT) is between %(low)s HT and %(high)s HT for %(nature)s "
            "(%(period)s): the adapted procedure (MAPA) applies (articles R2123-1 and R2123-4); you organise it "
            "freely while guaranteeing equal treatment and transparency.", amount=fmt_eur(amount),
            low=fmt_eur(dispense.amount), high=fmt_eur(formal.amount), nature=nat, period=period))
        if amount >= notice.amount:
            d.publicity = "boamp_or_jal"
            d.reasons.append(_(
                "From %(threshold)s HT, a contract notice must be published in the BOAMP or in a newspaper "
                "authorised to publish legal notices (JAL), and on the buyer profile (article %(article)s).",
                threshold=fmt_eur(notice.amount), article=notice.article))
        else:
            d.publicity = "free"
            d.reasons.append(_(
                "Below %(threshold)s HT, you choose the publicity suited to the contract (article %(article)s): "
                "publication on this portal, plus a local newspaper or direct requests to several companies.",
                threshold=fmt_eur(notice.amount), article=notice.article))
        rule = dl["mapa"]
        d.min_days, d.deadline_article = rule["min_days"], rule["article"]
    else:
        d.procedure, d.publicity = "formalised", "boamp_and_joue"
        d.reasons.append(_(
            "The estimated amount (%(amount)s HT) reaches the European threshold of %(threshold)s HT for "
            "%(nature)s (%(period)s): a formalised procedure is required (article %(article)s), with a notice in "
            "the BOAMP and in the Official Journal of the European Union. The portal drafts an open call for "
            "tenders; get advice from the department's legal team before publishing.", amount=fmt_eur(amount),
            threshold=fmt_eur(formal.amount), nature=nat, period=period, article=formal.article))
        rule = dl["open_tender"]
        d.min_days, d.deadline_article = rule["min_days"], rule["article"]
    if d.procedure != "none":
        d.reasons.append(_("The amount to compare is the total over the whole duration including renewals, for all "
                           "the lots together: splitting a need to stay under a threshold is forbidden (articles "
                           "R2121-1 and R2121-4)."))
    return d
