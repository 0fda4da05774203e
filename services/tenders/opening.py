"""The registers and the opening of the bids.

- **Registre des retraits** (:class:`Withdrawal`): every download of a published consultation's documents on the
  public pages (the DCE zip, a document, an attachment) — when (server clock, UTC), what, and who: the company
  account signed in, or « anonyme » (the law lets a company download the DCE without saying who it is, article
  R2132-2). Staff downloads are not withdrawals and are not counted.
- **Registre des dépôts**: the deposits of :mod:`deposits`, as a page, a CSV and — here — a PDF.
- **Opening** (:func:`open_bids`), by a holder of ``tenders.open`` once the deadline has passed: the consultation's
  private key is released, every file of the valid deposits (the last one of each company) is decrypted and checked
  against the SHA-256 printed on the company's receipt; a file that does not open or does not match is **flagged**
  (``BidFile.check`` = ``"broken"``). The plaintext is not kept: it is decrypted again, audited, each time a person
  downloads a file. The **PV d'ouverture** (:func:`pv_doc`) lists the deposits, their times, the fingerprints and the
  flagged files.
- **Late deposits** (``Bid.late``, received at or after the deadline): kept sealed in the register as « hors délai »
  (the arrêté of 22 March 2019 on buyer profiles, annexe 7, I, 4° and 5°: the profile receives and keeps them),
  never among the valid bids, never decrypted — R2143-2 and R2151-5 eliminate them; the PV lists them apart, as
  « arrivés hors délai — éliminés, non ouverts ».
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import audit
from portal.extensions import db
from portal.identity import to_local

from . import deposits, documents, sealing, storage
from .companies import Company
from .deposits import Bid
from .models import Tender

log = logging.getLogger(__name__)

WHAT_FR = {"dce": "Dossier de consultation complet (zip)", "document": "Document", "attachment": "Pièce jointe"}


class Withdrawal(db.Model):
    """One download of a published consultation's documents on the public pages (registre des retraits)."""

    __tablename__ = "tender_withdrawal"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("tender_company.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # server clock, UTC (naive)
    kind: Mapped[str] = mapped_column(String(16))  # dce, document, attachment
    name: Mapped[str] = mapped_column(String(200))  # file name as served
    company: Mapped[Company | None] = relationship()

    @property
    def at_paris(self) -> dt.datetime:
        return to_local(self.at, db.session.get(Tender, self.tender_id).collectivity)


class Opening(db.Model):
    """The opening of a consultation's bids (once): when, by whom; the PV is generated from the register."""

    __tablename__ = "tender_opening"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), unique=True)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC (naive)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    opened_by_name: Mapped[str] = mapped_column(String(254), default="")

    @property
    def opened_paris(self) -> dt.datetime:
        return to_local(self.opened_at, db.session.get(Tender, self.tender_id).collectivity)


def record_withdrawal(t: Tender, kind: str, name: str, company_id: int | None) -> None:
    db.session.add(Withdrawal(tender_id=t.id, company_id=company_id, kind=kind, name=name[:200],
                              at=deposits.now_utc().replace(tzinfo=None)))


def withdrawals_of(t: Tender) -> list[Withdrawal]:
    return db.session.scalars(select(Withdrawal).where(Withdrawal.tender_id == t.id)
                              .order_by(Withdrawal.at, Withdrawal.id)).all()


def opening_of(t: Tender) -> Opening | None:
    return db.session.scalar(select(Opening).where(Opening.tender_id == t.id))


def valid_bids(t: Tender) -> list[Bid]:
    """The deposits that count: the last one in time of each company (R2151-6: a new offer replaces the former);
    deposits received out of time are eliminated (R2143-2, R2151-5)."""
    return [b for b in deposits.register_of(t) if b.superseded_at is None and not b.late]


def late_bids(t: Tender) -> list[Bid]:
    """The deposits received out of time."""
    return [b for b in deposits.register_of(t) if b.late]


def _sealed_bytes(f) -> bytes:
    path = storage.path_of(f.storage_key)
    data = path.read_bytes()
    if len(data) != f.sealed_size:
        raise storage.StorageError(f"{f.storage_key}: {len(data)} bytes instead of {f.sealed_size}")
    return data


class NotYet(Exception):
    """The deadline has not passed: the bids stay sealed."""


def open_bids(t: Tender, user) -> Opening:
    """Open the consultation's bids: decrypt and check every file of the valid deposits, flag the broken ones,
    record the opening (audited ``tenders.opened``, and ``tenders.bid_file_broken`` per flagged file). Not
    committed. Raises :class:`NotYet` before the deadline; opening twice returns the first opening."""
    existing = opening_of(t)
    if existing is not None:
        return existing
    now = deposits.now_utc()
    if now < deposits.deadline_utc(t):
        raise NotYet(f"tender {t.id}: the deadline {deposits.deadline_utc(t).isoformat()} has not passed")
    key = deposits.consultation_key(t)
    private = sealing.private_key(t.id, key.private_sealed, deposits.deadline_utc(t), now)
    flagged = 0
    bids = valid_bids(t)
    for bid in bids:
        for f in bid.files:
            try:
                # No separate checksum of the sealed file here: its AES-GCM tag authenticates every byte, and
                # unseal() checks the plaintext against the SHA-256 of the receipt — one pass less over 20 MB.
                blob = _sealed_bytes(f)
                sealing.unseal(private, blob, t.id, f.sha256)
            except (sealing.Broken, storage.StorageError, OSError) as exc:
                log.error("tenders: at the opening of tender %s, file %s of deposit %s is flagged: %s",
                          t.id, f.id, bid.number, exc)
                f.check = "broken"
                flagged += 1
                audit.record("tenders.bid_file_broken", target=t, bid=bid.number, filename=f.filename,
                             sha256=f.sha256)
            else:
                f.check = "ok"
    opening = Opening(tender_id=t.id, opened_at=now.replace(tzinfo=None), opened_by_id=getattr(user, "id", None),
                      opened_by_name=getattr(user, "email", "") or "")
    db.session.add(opening)
    audit.record("tenders.opened", target=t, reference=t.reference, bids=len(bids), flagged=flagged,
                 late=len(late_bids(t)))
    db.session.flush()
    return opening


# Documents -------------------------------------------------------------------------------------------------------

def _paris(moment: dt.datetime, t: Tender | None = None) -> str:
    """A naive UTC moment in the legal time of the buyer's département (the page's without ``t``)."""
    return to_local(moment, t.collectivity if t is not None else None).strftime("%d/%m/%Y à %H:%M:%S")


def _utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(sha256: str) -> str:
    """A SHA-256 in four groups of 16 characters, so that a table cell wraps it between groups."""
    return " ".join(sha256[i:i + 16] for i in range(0, len(sha256), 16))


def _consultation(doc: documents.Doc, t: Tender) -> None:
    doc.table([("Consultation", f"{t.title} (référence {t.reference})"), ("Acheteur", t.collectivity.name),
               ("Date limite de réception des offres",
                (t.reception_deadline.strftime("%d/%m/%Y à %H:%M") + f" ({t.zone_label})")
                if t.reception_deadline else "à compléter")])


def deposits_register_doc(t: Tender) -> documents.Doc:
    doc = documents.Doc("registre-depots", "Registre des dépôts", f"{t.reference}-registre-depots")
    _consultation(doc, t)
    bids = deposits.register_of(t)
    late = [b for b in bids if b.late]
    doc.p(f"{len(bids)} dépôt(s) reçu(s), horodatés par l'horloge du serveur (UTC), l'{t.zone_label} en regard. "
          "Un dépôt remplacé par un dépôt ultérieur de la même entreprise reste inscrit au registre."
          + (f" {len(late)} dépôt(s) reçu(s) après la date et l'heure limites : conservés sous scellés et inscrits "
             f"« hors délai » ({deposits.PROFILE_RULE_FR}), ils sont éliminés et ne sont pas ouverts "
             f"({deposits.ELIMINATION_FR})." if late else ""))
    rows = [("N°", "Entreprise", f"Reçu ({t.zone_label} / UTC)", "État", "Fichier", "Empreinte SHA-256")]
    for b in bids:
        for i, f in enumerate(b.files):
            rows.append((str(b.number) if i == 0 else "",
                         f"{b.company.name} — SIRET {b.company.siret}" if i == 0 else "",
                         f"{_paris(b.received_at, t)} / {_utc(b.received_at)}" if i == 0 else "",
                         _state(b, t) if i == 0 else "",
                         f"{f.filename} — {deposits.file_label(f)} ({f.size} octets)", _hash(f.sha256)))
    if not bids:
        rows.append(("", "Aucun dépôt", "", "", "", ""))
    doc.table(rows)
    doc.p(f"Registre édité le {_paris(deposits.now_utc().replace(tzinfo=None), t)} ({t.zone_label}).")
    return doc


def _state(b: Bid, t: Tender) -> str:
    """The state of a deposit in the registers; a late one with the moment its reception began."""
    if b.late and b.began_at:
        return f"hors délai (réception commencée le {_paris(b.began_at, t)})"
    return b.state_fr


def withdrawals_register_doc(t: Tender) -> documents.Doc:
    doc = documents.Doc("registre-retraits", "Registre des retraits", f"{t.reference}-registre-retraits")
    _consultation(doc, t)
    rows = withdrawals_of(t)
    doc.p(f"{len(rows)} téléchargement(s) des documents de la consultation sur la page publique. Les entreprises "
          "peuvent télécharger le dossier sans s'identifier (« anonyme »).")
    table = [(f"Date ({t.zone_label})", "Horodatage (UTC)", "Qui", "Quoi")]
    table += [(_paris(w.at, t), _utc(w.at), f"{w.company.name} — SIRET {w.company.siret}" if w.company else "anonyme",
               f"{WHAT_FR.get(w.kind, w.kind)} : {w.name}") for w in rows]
    if not rows:
        table.append(("", "", "Aucun téléchargement", ""))
    doc.table(table)
    doc.p(f"Registre édité le {_paris(deposits.now_utc().replace(tzinfo=None), t)} ({t.zone_label}).")
    return doc


def pv_doc(t: Tender, opening: Opening) -> documents.Doc:
    doc = documents.Doc("pv-ouverture", "Procès-verbal d'ouverture des plis", f"{t.reference}-PV-ouverture")
    _consultation(doc, t)
    # as at the opening: a late deposit that came after it is in the register, not in these minutes
    bids = [b for b in deposits.register_of(t) if not b.late or b.received_at <= opening.opened_at]
    valid = [b for b in bids if b.superseded_at is None and not b.late]
    late = [b for b in bids if b.late]
    flagged = [(b, f) for b in valid for f in b.files if f.check == "broken"]
    doc.table([("Ouverture le", f"{opening.opened_paris.strftime('%d/%m/%Y à %H:%M:%S')} ({t.zone_label}), "
                                f"{_utc(opening.opened_at)} (UTC)"),
               ("Par", opening.opened_by_name or "—"),
               ("Dépôts reçus", str(len(bids))),
               ("Dont plis arrivés hors délai (éliminés, non ouverts)", str(len(late))),
               ("Offres ouvertes (dernier dépôt dans le délai de chaque entreprise)", str(len(valid))),
               ("Fichiers signalés", str(len(flagged)))])
    doc.h("Plis ouverts")
    rows = [("N°", "Entreprise", f"Reçu ({t.zone_label})", "Fichier", "Empreinte SHA-256", "Contrôle")]
    for b in valid:
        for i, f in enumerate(b.files):
            rows.append((str(b.number) if i == 0 else "", f"{b.company.name} — SIRET {b.company.siret}" if i == 0
                         else "", _paris(b.received_at, t) if i == 0 else "", f"{f.filename} — {deposits.file_label(f)} ({f.size} octets)",
                         _hash(f.sha256),
                         "conforme" if f.check == "ok" else "SIGNALÉ : ne correspond pas à l'empreinte"))
    if not valid:
        rows.append(("", "Aucune offre reçue", "", "", "", ""))
    doc.table(rows)
    if late:
        doc.h("Plis arrivés hors délai (éliminés, non ouverts)")
        doc.p("Ces plis sont parvenus après la date et l'heure limites de réception. Le profil d'acheteur les a "
              f"reçus, horodatés et conservés sous scellés ({deposits.PROFILE_RULE_FR}) ; ils sont éliminés "
              f"({deposits.ELIMINATION_FR}) et n'ont pas été ouverts. Si l'entreprise a transmis dans le délai une "
              "copie de sauvegarde et que la transmission de son pli a commencé avant la date limite, cette copie "
              f"peut être ouverte ({deposits.BACKUP_COPY_RULE_FR}).")
        rows = [("N°", "Entreprise", f"Reçu ({t.zone_label})", "Réception commencée le", "Fichier",
                 "Empreinte SHA-256")]
        for b in late:
            for i, f in enumerate(b.files):
                rows.append((str(b.number) if i == 0 else "",
                             f"{b.company.name} — SIRET {b.company.siret}" if i == 0 else "",
                             _paris(b.received_at, t) if i == 0 else "",
                             (_paris(b.began_at, t) if b.began_at else "—") if i == 0 else "",
                             f"{f.filename} — {deposits.file_label(f)} ({f.size} octets)", _hash(f.sha256)))
        doc.table(rows)
    superseded = [b for b in bids if b.superseded_at is not None]
    if superseded:
        doc.h("Dépôts remplacés (non ouverts)")
        doc.table([("N°", "Entreprise", f"Reçu ({t.zone_label})", "Remplacé le")]
                  + [(str(b.number), b.company.name, _paris(b.received_at, t), _paris(b.superseded_at, t))
                     for b in superseded])
    if flagged:
        doc.h("Fichiers signalés")
        doc.p("Les fichiers suivants ne s'ouvrent pas avec la clé de la consultation ou ne correspondent pas à "
              "l'empreinte SHA-256 portée sur l'accusé de réception remis à l'entreprise : "
              + "; ".join(f"dépôt n° {b.number}, {f.filename}" for b, f in flagged) + ". L'acheteur peut demander "
              "à l'entreprise sa copie de sauvegarde si elle en a transmis une (article R2132-11).")
    doc.p("Les offres ont été déchiffrées après la date limite ; chaque fichier a été comparé à l'empreinte "
          "enregistrée lors de son dépôt.")
    return doc
