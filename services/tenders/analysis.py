"""Analysis of the offers and the decision: the scoring grid per lot, abnormally low offers, the rapport d'analyse
des offres, the award, the letters to the rejected candidates and the notification to the winner.

- The **grid** of a lot is the consultation's criteria and weights (wizard step 5). The buyer types each valid
  offer's price (HT) for the lot and marks the other criteria by hand, in points between 0 and the criterion's
  weight, with a comment.
- The **price** is scored by the formula the buyer picks for the lot (:data:`FORMULAS`):
  ``ratio`` — weight × lowest price / price (the lowest price gets the full weight);
  ``linear`` — weight × (highest − price) / (highest − lowest) (linear between the lowest, full weight, and the
  highest, 0; all equal: full weight).
- **Abnormally low offers** (L2152-5, L2152-6, R2152-3 to R2152-5 of the code de la commande publique): the code sets
  no figure and forbids rejecting an offer automatically; the rule applied here only **flags** an offer whose price is
  below :data:`ABNORMALLY_LOW_SHARE` (80 %) of the mean of the other offers' prices for the lot — the mathematical
  "seuil d'anomalie" the DAJ of Bercy allows as a detection aid (fiche « L'offre anormalement basse »), after which
  the buyer must ask the company to justify its price before any rejection (a request for clarification,
  :mod:`services.tenders.exchanges`).
- The **standstill period** (délai de suspension, L2182-1 and R2182-1, version in force since 1 April 2019, created by
  décret n° 2018-1075 and unchanged since): « un délai minimal de onze jours est respecté entre la date d'envoi de la
  notification prévue aux articles R. 2181-1 et R. 2181-3 et la date de signature du marché par l'acheteur », sixteen
  days when the notification is not sent electronically (the letters are sent electronically here), for procedures
  formalisées only; a procédure adaptée has none, and the letters say so. R2182-2, 1°: no standstill period when the
  contract goes to the only operator who took part (one offer in the lot).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.identity import today as local_today
from portal.extensions import db

from . import documents
from .deposits import Bid
from .models import Tender
from .rules import fmt_eur

FORMULAS = {"ratio": "Prix le plus bas / prix de l'offre × pondération",
            "linear": "Linéaire entre le prix le plus bas (note maximale) et le plus élevé (0)"}
ABNORMALLY_LOW_SHARE = Decimal("0.80")
STANDSTILL_DAYS_ELECTRONIC = 11  # R2182-1, first paragraph (16 days, second paragraph, for letters on paper)
TWO = Decimal("0.01")


class LotGrid(db.Model):
    """The price formula the buyer picked for a lot."""

    __tablename__ = "tender_lot_grid"
    __table_args__ = (UniqueConstraint("tender_id", "lot_number", name="uq_tender_lot_grid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    lot_number: Mapped[int] = mapped_column(Integer)
    price_formula: Mapped[str] = mapped_column(String(16), default="ratio")


class Mark(db.Model):
    """One valid offer on one lot: its price and the points of the other criteria, with comments."""

    __tablename__ = "tender_mark"
    __table_args__ = (UniqueConstraint("bid_id", "lot_number", name="uq_tender_mark_bid_lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("tender_bid.id", ondelete="CASCADE"), index=True)
    lot_number: Mapped[int] = mapped_column(Integer)
    price_ht: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    points: Mapped[dict] = mapped_column(JSON, default=dict)  # {criterion code: points}
    comments: Mapped[dict] = mapped_column(JSON, default=dict)  # {criterion code: comment}
    bid: Mapped[Bid] = relationship()


class LotDecision(db.Model):
    """The award of a lot to a valid offer of the grid: the letters are sent (and dated) from it."""

    __tablename__ = "tender_lot_decision"
    __table_args__ = (UniqueConstraint("tender_id", "lot_number", name="uq_tender_lot_decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    lot_number: Mapped[int] = mapped_column(Integer)
    winner_bid_id: Mapped[int] = mapped_column(ForeignKey("tender_bid.id", ondelete="CASCADE"))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    notified_on: Mapped[dt.date | None] = mapped_column(Date)  # the winner notified (after the standstill)
    winner: Mapped[Bid] = relationship()



def decision_of(t: Tender, lot_number: int) -> LotDecision | None:
    return db.session.scalar(select(LotDecision).where(LotDecision.tender_id == t.id,
                                                       LotDecision.lot_number == lot_number))


@dataclass
class Row:
    bid: Bid
    price: Decimal | None
    scores: dict = field(default_factory=dict)  # code → Decimal
    comments: dict = field(default_factory=dict)
    total: Decimal = Decimal(0)
    rank: int = 0
    abnormally_low: bool = False
    complete: bool = True


def price_code(t: Tender) -> str | None:
    return next((c["code"] for c in (t.criteria or []) if c.get("code") == "price"), None)


def formula_of(t: Tender, lot_number: int) -> str:
    grid = db.session.scalar(select(LotGrid).where(LotGrid.tender_id == t.id, LotGrid.lot_number == lot_number))
    return grid.price_formula if grid else "ratio"


def price_score(formula: str, weight: Decimal, price: Decimal, lowest: Decimal, highest: Decimal) -> Decimal:
    if formula == "linear":
        score = weight if highest == lowest else weight * (highest - price) / (highest - lowest)
    else:
        score = weight * lowest / price
    return score.quantize(TWO, ROUND_HALF_UP)


def abnormally_low(price: Decimal, others: list[Decimal]) -> bool:
    """Below 80 % of the mean of the other offers (at least one other offer)."""
    return bool(others) and price < ABNORMALLY_LOW_SHARE * (sum(others) / len(others))


def grid(t: Tender, lot_number: int, bids: list[Bid]) -> list[Row]:
    """The scored, ranked grid of a lot: one row per valid offer that has a price for the lot."""
    marks = {m.bid_id: m for m in db.session.scalars(select(Mark).where(Mark.tender_id == t.id,
                                                                       Mark.lot_number == lot_number))}
    rows = [Row(bid=b, price=marks[b.id].price_ht, comments=dict(marks[b.id].comments or {}))
            for b in bids if b.id in marks and marks[b.id].price_ht and b.covers(lot_number)]
    prices = [r.price for r in rows]
    formula = formula_of(t, lot_number)
    code = price_code(t)
    for r in rows:
        points = marks[r.bid.id].points or {}
        for c in t.criteria or []:
            weight = Decimal(str(c["weight"]))
            if c["code"] == code:
                r.scores[code] = price_score(formula, weight, r.price, min(prices), max(prices))
            elif points.get(c["code"]) not in (None, ""):
                r.scores[c["code"]] = Decimal(str(points[c["code"]])).quantize(TWO, ROUND_HALF_UP)
            else:
                r.complete = False
        r.total = sum(r.scores.values(), Decimal(0))
        others = list(prices)
        others.remove(r.price)
        r.abnormally_low = abnormally_low(r.price, others)
    rows.sort(key=lambda r: (-r.total, r.price, r.bid.number))
    for i, r in enumerate(rows, 1):
        r.rank = i
    return rows


def save_marks(t: Tender, lot_number: int, bids: list[Bid], form) -> dict[str, str]:
    """Store the grid of a lot from the form (``formula``, ``price_<bid>``, ``points_<bid>_<code>``,
    ``comment_<bid>_<code>``); returns French errors by field (nothing is kept then: the caller rolls back)."""
    from flask_babel import gettext as _

    from .schemas import parse_amount

    errors: dict[str, str] = {}
    formula = form.get("formula", "ratio")
    if formula not in FORMULAS:
        errors["formula"] = _("Choose how the price is scored.")
    g = db.session.scalar(select(LotGrid).where(LotGrid.tender_id == t.id, LotGrid.lot_number == lot_number))
    if g is None:
        g = LotGrid(tender_id=t.id, lot_number=lot_number)
        db.session.add(g)
    g.price_formula = formula if formula in FORMULAS else "ratio"
    code = price_code(t)
    for b in bids:
        m = db.session.scalar(select(Mark).where(Mark.bid_id == b.id, Mark.lot_number == lot_number))
        if m is None:
            m = Mark(tender_id=t.id, bid_id=b.id, lot_number=lot_number, points={}, comments={})
            db.session.add(m)
        raw = form.get(f"price_{b.id}", "").strip()
        try:
            price = parse_amount(raw) if raw else None
            if price is not None and price <= 0:
                raise ValueError
        except (ValueError, ArithmeticError):
            errors[f"price_{b.id}"] = _("Offer no. %(n)d: enter the price excluding tax (e.g. 84 500,00).",
                                         n=b.number)
            price = None
        m.price_ht = price
        points, comments = {}, {}
        for c in t.criteria or []:
            if c["code"] == code:
                continue
            comments[c["code"]] = form.get(f"comment_{b.id}_{c['code']}", "").strip()[:2000]
            value = form.get(f"points_{b.id}_{c['code']}", "").strip().replace(",", ".")
            if not value:
                continue
            try:
                number = Decimal(value)
                if not 0 <= number <= Decimal(str(c["weight"])):
                    raise ValueError
            except (ValueError, ArithmeticError):
                errors[f"points_{b.id}_{c['code']}"] = _(
                    "Offer no. %(n)d, %(criterion)s: enter points between 0 and %(max)s.", n=b.number,
                    criterion=documents.criterion_fr(c), max=c["weight"])
                continue
            points[c["code"]] = str(number)
        m.points, m.comments = points, comments
    return errors


# Documents -------------------------------------------------------------------------------------------------------

def pts(value) -> str:
    """Points in French typography (72,89); "—" when there are none."""
    return "—" if value is None or value == "—" else f"{Decimal(value):.2f}".replace(".", ",")


def _eur(value: Decimal | None) -> str:
    return fmt_eur(value) if value is not None else "—"


def report_doc(t: Tender, bids: list[Bid]) -> documents.Doc:
    """The rapport d'analyse des offres: per lot, the grid, the ranking, the flagged offers and the proposal."""
    doc = documents.Doc("rapport-analyse", "Rapport d'analyse des offres", f"{t.reference}-rapport-analyse")
    doc.table([("Consultation", f"{t.title} (référence {t.reference})"), ("Acheteur", t.collectivity.name),
               ("Procédure", documents.procedure_fr(t)), ("Offres reçues", str(len(bids)))])
    doc.h("Critères de jugement")
    doc.table([("Critère", "Pondération", "Méthode de notation")]
              + [(documents.criterion_fr(c), f"{c['weight']} points",
                  "selon la formule retenue pour chaque lot" if c["code"] == price_code(t)
                  else "note attribuée par l'acheteur, motivée") for c in t.criteria or []])
    for lot in t.lots:
        rows = grid(t, lot.number, bids)
        doc.h(f"Lot {lot.number} — {lot.title}" if len(t.lots) > 1 else f"Analyse — {lot.title}")
        doc.p("Notation du prix : " + FORMULAS[formula_of(t, lot.number)] + ".")
        if not rows:
            doc.p("Aucune offre n'a été notée pour ce lot.")
            continue
        header = ("Rang", "Entreprise", "Prix HT") + tuple(documents.criterion_fr(c) for c in t.criteria) + ("Total",)
        doc.table([header] + [(str(r.rank), r.bid.company.name, _eur(r.price))
                              + tuple(pts(r.scores.get(c["code"])) for c in t.criteria) + (pts(r.total),)
                              for r in rows])
        comments = [(r.bid.company.name, documents.criterion_fr(c), r.comments.get(c["code"], ""))
                    for r in rows for c in t.criteria if r.comments.get(c["code"])]
        if comments:
            doc.table([("Entreprise", "Critère", "Appréciation")] + comments)
        low = [r for r in rows if r.abnormally_low]
        if low:
            doc.p("Offre(s) susceptible(s) d'être anormalement basse(s) (prix inférieur à 80 % de la moyenne des "
                  "autres offres) : " + ", ".join(f"{r.bid.company.name} ({_eur(r.price)})" for r in low)
                  + ". Avant toute décision, l'acheteur demande à l'entreprise de justifier son prix (articles "
                  "L2152-5 et R2152-3 du code de la commande publique) ; l'offre ne peut être rejetée sans cette "
                  "procédure contradictoire.")
        incomplete = [r for r in rows if not r.complete]
        if incomplete:
            doc.p("Notation incomplète : " + ", ".join(r.bid.company.name for r in incomplete) + ".")
        best = rows[0]
        doc.p(f"Proposition : attribuer le lot à {best.bid.company.name} (SIRET {best.bid.company.siret}), offre "
              f"économiquement la plus avantageuse avec {pts(best.total)} points sur 100, pour {_eur(best.price)} HT.")
    return doc


def standstill(t: Tender, offers: int | None = None) -> int | None:
    """Days of the standstill period when the letters are sent electronically (R2182-1: formalised procedures only);
    none when the lot had a single offer (R2182-2, 1°: « attribué au seul opérateur ayant participé »)."""
    if t.procedure != "formalised" or offers == 1:
        return None
    return STANDSTILL_DAYS_ELECTRONIC


def rejection_doc(t: Tender, lot, row: Row, winner: Row, sent_on: dt.date) -> documents.Doc:
    """The letter to a rejected candidate (R2181-1, R2181-3): the decision, its reasons, the scores, the winner's
    name and scores, and the standstill period where it applies."""
    company = row.bid.company
    doc = documents.Doc(f"rejet-{row.bid.number}-lot{lot.number}", "Information d'un candidat évincé",
                        f"{t.reference}-rejet-lot{lot.number}-depot{row.bid.number}")
    doc.table([("Destinataire", f"{company.name} — SIRET {company.siret}"), ("Courriel", company.email),
               ("Consultation", f"{t.title} (référence {t.reference})"),
               ("Lot", f"{lot.number} — {lot.title}"), ("Date d'envoi", sent_on.strftime("%d/%m/%Y"))])
    doc.p("Madame, Monsieur,")
    doc.p(f"Nous avons le regret de vous informer que votre offre (dépôt n° {row.bid.number}) n'a pas été retenue. "
          f"Elle est classée au rang {row.rank} avec {pts(row.total)} points sur 100. Le marché est attribué à "
          f"{winner.bid.company.name}, dont l'offre obtient {pts(winner.total)} points sur 100 pour un prix de "
          f"{_eur(winner.price)} HT.")
    doc.h("Motifs et notes")
    doc.table([("Critère", "Votre note", "Note de l'attributaire", "Appréciation de votre offre")]
              + [(f"{documents.criterion_fr(c)} ({c['weight']} points)", pts(row.scores.get(c["code"])),
                  pts(winner.scores.get(c["code"])), row.comments.get(c["code"], ""))
                 for c in t.criteria or []])
    days = standstill(t)
    if days:
        signature = sent_on + dt.timedelta(days=days)
        doc.p(f"Conformément aux articles L2182-1 et R2182-1 du code de la commande publique, le marché ne sera pas "
              f"signé avant l'expiration d'un délai de {days} jours à compter de l'envoi de la présente lettre par "
              f"voie électronique, soit pas avant le {signature.strftime('%d/%m/%Y')}.")
    else:
        doc.p("La consultation étant une procédure adaptée, aucun délai de suspension de la signature n'est imposé ; "
              "le marché peut être signé dès l'envoi de cette information.")
    doc.p("Vous pouvez demander les caractéristiques et les avantages de l'offre retenue (article R2181-2). Cette "
          "décision peut faire l'objet d'un référé précontractuel avant la signature du marché, puis d'un recours "
          "devant le tribunal administratif dans un délai de deux mois à compter de la publication de l'avis "
          "d'attribution.")
    doc.p(f"Pour {t.collectivity.name}, le pouvoir adjudicateur.")
    return doc


def notification_doc(t: Tender, lot, row: Row, notified_on: dt.date) -> documents.Doc:
    """The notification of the contract to the winner (in the manner of the NOTI10 form)."""
    company = row.bid.company
    doc = documents.Doc(f"notification-lot{lot.number}", "Notification du marché public",
                        f"{t.reference}-notification-lot{lot.number}")
    doc.table([("A — Identification de l'acheteur", f"{t.collectivity.name} — SIRET {t.buyer_siret or '—'}"),
               ("B — Objet de la consultation", f"{t.title} (référence {t.reference})"),
               ("C — Lot", f"{lot.number} — {lot.title}"),
               ("D — Titulaire", f"{company.name} — SIRET {company.siret}"),
               ("E — Montant HT", _eur(row.price)), ("Date de notification", notified_on.strftime("%d/%m/%Y"))])
    doc.p("Madame, Monsieur,")
    doc.p("Nous vous notifions le marché désigné ci-dessus : votre offre, classée première avec "
          f"{pts(row.total)} points "
          "sur 100, est retenue. La notification fait courir les délais d'exécution prévus aux pièces du marché. "
          "Vous voudrez bien retourner l'acte d'engagement signé si vous ne l'avez pas déjà fait.")
    doc.p(f"Pour {t.collectivity.name}, le pouvoir adjudicateur.")
    return doc


def award_notice_doc(t: Tender, winners: list[tuple]) -> documents.Doc:
    """The award notice (avis d'attribution): one row per awarded lot."""
    doc = documents.Doc("avis-attribution", "Avis d'attribution", f"{t.reference}-avis-attribution")
    doc.table([("Acheteur", f"{t.collectivity.name} — SIRET {t.buyer_siret or '—'}"),
               ("Objet", f"{t.title} (référence {t.reference})"), ("Procédure", documents.procedure_fr(t))])
    doc.table([("Lot", "Attributaire", "Montant HT", "Offres reçues")]
              + [(f"{lot.number} — {lot.title}", f"{row.bid.company.name} — SIRET {row.bid.company.siret}",
                  _eur(row.price), str(count)) for lot, row, count in winners])
    doc.p("Recours : tribunal administratif compétent, dans un délai de deux mois à compter de la publication du "
          "présent avis.")
    return doc


# Decision ---------------------------------------------------------------------------------------------------------

class Refused(ValueError):
    """A decision that cannot be taken: ``message`` in French."""

    def __init__(self, message, reason: str):
        super().__init__(reason)
        self.message = message


def notify_from(t: Tender, d: LotDecision, offers: int | None = None) -> dt.date:
    """First day the winner may be notified: the end of the standstill period, or the decision's day."""
    days = standstill(t, offers)
    return d.decided_on + dt.timedelta(days=days) if days else d.decided_on


def letter_for(t: Tender, lot, bid: Bid, bids: list[Bid]) -> documents.Doc | None:
    """The letter a company receives for a decided lot: the rejection, or (once notified) the notification."""
    d = decision_of(t, lot.number)
    if d is None:
        return None
    rows = grid(t, lot.number, bids)
    winner = next((r for r in rows if r.bid.id == d.winner_bid_id), None)
    row = next((r for r in rows if r.bid.id == bid.id), None)
    if winner is None or row is None:
        return None
    if row is winner:
        return notification_doc(t, lot, row, d.notified_on) if d.notified_on else None
    return rejection_doc(t, lot, row, winner, d.decided_on)


def decide(t: Tender, lot, bids: list[Bid], user_id: int | None, today: dt.date | None = None) -> LotDecision:
    """Award the lot to the first-ranked offer of a complete grid and send the letters to the rejected candidates
    (e-mail through the outbox, letter on their page); without a standstill period the winner is notified at once.
    Not committed."""
    from flask_babel import lazy_gettext as _l

    from portal import audit

    if decision_of(t, lot.number) is not None:
        raise Refused(_l("This lot is already awarded."), f"tender {t.id} lot {lot.number} already decided")
    rows = grid(t, lot.number, bids)
    if not rows:
        raise Refused(_l("Score at least one offer before awarding the lot."), "empty grid")
    if any(not r.complete for r in rows):
        raise Refused(_l("Mark every criterion of every offer before awarding the lot."), "incomplete grid")
    today = today or local_today(t.collectivity)
    winner = rows[0]
    d = LotDecision(tender_id=t.id, lot_number=lot.number, winner_bid_id=winner.bid.id, decided_on=today,
                    decided_by_id=user_id)
    db.session.add(d)
    db.session.flush()
    audit.record("tenders.decided", target=t, lot=lot.number, bid=winner.bid.number,
                 company_siret=winner.bid.company.siret, amount=str(winner.price))
    from . import notify

    for r in rows[1:]:
        notify.letter_to_company(t, lot, r.bid, rejected=True)
    if standstill(t, len(rows)) is None:
        notify_winner(t, lot, bids, today)
    return d


def notify_winner(t: Tender, lot, bids: list[Bid], today: dt.date | None = None) -> LotDecision:
    """Notify the contract to the winner (after the standstill period): its letter, the award recorded with its
    open data (DECP, OCDS). Not committed; :class:`Refused` before the end of the standstill period."""
    from flask_babel import lazy_gettext as _l

    from . import notify
    from .operations import record_award

    today = today or local_today(t.collectivity)
    d = decision_of(t, lot.number)
    if d is None:
        raise Refused(_l("Award the lot first."), "no decision")
    if d.notified_on is not None:
        raise Refused(_l("The winner of this lot is already notified."), "already notified")
    rows = grid(t, lot.number, bids)
    if today < notify_from(t, d, len(rows)):
        raise Refused(_l("The standstill period runs until %(d)s: the contract cannot be notified before.",
                         d=notify_from(t, d, len(rows)).strftime("%d/%m/%Y")), "standstill period running")
    winner = next(r for r in rows if r.bid.id == d.winner_bid_id)
    d.notified_on = today
    problem = record_award(t, {"lot": lot.number, "holder_name": winner.bid.company.name,
                               "holder_siret": winner.bid.company.siret, "amount_ht": winner.price,
                               "notified_on": today, "offers_received": len(rows), "price_form": "Forfaitaire"})
    if problem:
        raise Refused(_l("The open data could not be produced: %(error)s", error=problem), problem)
    notify.letter_to_company(t, lot, winner.bid, rejected=False)
    return d
