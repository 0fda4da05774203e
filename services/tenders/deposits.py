"""Electronic deposit of bids: the register of deposits (registre des dépôts), sealed files, the deadline, receipts.

- A deposit (:class:`Bid`) is time-stamped by the server clock in UTC (``received_at``) at the reception of its last
  byte; it is in time only when that moment is strictly before the consultation's deadline, which is a wall-clock
  time of the buyer's département (:func:`deadline_utc` converts it, summer time included). One second late — even
  if the sending began before — makes it **hors délai** (``late``): the arrêté of 22 March 2019 on buyer profiles
  (annexe 7 of the code, I, 4° and 5°) has the profile « réceptionner et conserver » candidatures and offers
  « y compris hors délais », and R2143-2 / R2151-5 have the buyer eliminate them. So a late deposit is received,
  sealed like any other and kept in the register as « hors délai », with the moment its reception began
  (``began_at``: the copie de sauvegarde may replace it only if its transmission began before the deadline, annexe 6,
  article 2, II, 2°); it never replaces an earlier deposit, is never opened, and its receipt and the company's
  message say it will be eliminated.
- Its files (:class:`BidFile`: the candidature, then per lot the acte d'engagement, financial offer and technical
  memo) are sealed while they arrive (:class:`storage.SealedUpload`, :mod:`sealing`), checked by content after the
  last byte (the same rules as the buyer's attachments), then put in place; the database keeps each file's lot,
  part, name, size and SHA-256.
- A company may deposit again before the deadline: the new deposit replaces the former one (``superseded_at``); every
  deposit stays in the register. A consultation that has ended (awarded, unsuccessful, discontinued) or is not
  published receives nothing (:class:`DepositRefused`).
- Each deposit gets a receipt (accusé de réception): a PDF and an e-mail listing each file with its SHA-256.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, false, func,
                        select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit
from portal.extensions import db
from portal.mail import queue_email
from portal.models import utcnow
from portal.uploads import UploadRejected
from portal.urls import absolute_url

from . import documents, sealing, storage
from .companies import Company
from .models import Tender

log = logging.getLogger(__name__)

UTC = dt.timezone.utc
ROLES = {"candidature": "Candidature (DUME ou DC1/DC2)",
         "engagement": "Acte d'engagement",
         "financiere": "Offre financière (BPU, DPGF, DQE…)",
         "memoire": "Mémoire technique",
         "offre": "Offre (acte d'engagement, offre financière, mémoire technique)"}  # one file for all lots (before)
LOT_ROLES = ("engagement", "financiere", "memoire")  # the parts of an offer, given per lot in the deposit form
OFFER_ROLES = {"offre", *LOT_ROLES}
MAX_FILES = 10


class TenderKey(db.Model):
    """The consultation's key pair: the public key seals the bids, the private key is sealed until the deadline."""
    __tablename__ = "tender_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), unique=True)
    public_pem: Mapped[bytes] = mapped_column(LargeBinary)
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Bid(db.Model):
    __tablename__ = "tender_bid"
    __table_args__ = (UniqueConstraint("tender_id", "number", name="uq_tender_bid_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("tender_company.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2… within the consultation, in order of receipt
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # server clock, UTC (naive)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # replaced by a later deposit (UTC)
    # received at or after the deadline: kept (sealed) and listed, eliminated, never opened (R2143-2, R2151-5)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    began_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # the server began receiving it (UTC, naive)
    company: Mapped[Company] = relationship()
    files: Mapped[list[BidFile]] = relationship(back_populates="bid", cascade="all, delete-orphan",
                                                order_by="BidFile.id")

    @property
    def lots(self) -> list[int]:
        """The lots this deposit bids for (the lots of its offer files); empty: an offer covering every lot."""
        return sorted({f.lot_number for f in self.files if f.lot_number is not None})

    def covers(self, lot_number: int) -> bool:
        """Whether the deposit answers that lot: a file for it, or (deposits of one offer file) every lot."""
        lots = self.lots
        return not lots or lot_number in lots

    @property
    def state_fr(self) -> str:
        """« valide », « remplacé » or « hors délai », as the registers and the minutes print it."""
        return "hors délai" if self.late else "remplacé" if self.superseded_at else "valide"

    @property
    def began_paris(self) -> dt.datetime | None:
        from portal.identity import to_local

        return to_local(self.began_at, db.session.get(Tender, self.tender_id).collectivity) if self.began_at else None

    @property
    def received_paris(self) -> dt.datetime:
        """Received at, in the legal time of the buyer's département (portal.identity)."""
        from portal.identity import to_local

        return to_local(self.received_at, db.session.get(Tender, self.tender_id).collectivity)


class BidFile(db.Model):
    __tablename__ = "tender_bid_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("tender_bid.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    lot_number: Mapped[int | None] = mapped_column(Integer)  # None: the candidature, or an offer for every lot
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext, as printed on the receipt
    storage_key: Mapped[str] = mapped_column(String(200))  # the sealed blob
    sealed_sha256: Mapped[str] = mapped_column(String(64))
    sealed_size: Mapped[int] = mapped_column(Integer)
    check: Mapped[str] = mapped_column(String(8), default="")  # at the opening: "ok", or "broken" (flagged)
    bid: Mapped[Bid] = relationship(back_populates="files")


class DepositRefused(ValueError):
    """A deposit that cannot be accepted: ``message`` in French for the company, ``reason`` in English for the log."""

    def __init__(self, message, reason: str):
        super().__init__(reason)
        self.message, self.reason = message, reason


def deadline_utc(t: Tender) -> dt.datetime:
    """The deadline (a wall-clock time of the buyer's département) as an aware UTC moment."""
    from portal.identity import zone_for

    return t.reception_deadline.replace(tzinfo=zone_for(t.collectivity)).astimezone(UTC)


def now_utc() -> dt.datetime:
    return dt.datetime.now(UTC)


def consultation_key(t: Tender) -> TenderKey:
    """The consultation's key pair, made at publication (or by the first deposit of an older consultation; two
    first deposits at once: the unique tender_id keeps one pair, the other deposit reads it)."""
    key = db.session.scalar(select(TenderKey).where(TenderKey.tender_id == t.id))
    if key is None:
        public, sealed_private = sealing.new_key_pair(t.id)
        try:
            with db.session.begin_nested():
                key = TenderKey(tender_id=t.id, public_pem=public, private_sealed=sealed_private)
                db.session.add(key)
                db.session.flush()
        except IntegrityError:
            key = db.session.scalar(select(TenderKey).where(TenderKey.tender_id == t.id))
    return key


def deposit(t: Tender, company: Company, files: list[tuple], at: dt.datetime | None = None,
            began: dt.datetime | None = None) -> Bid:
    """Record a deposit of ``files`` — [(role, filename, bytes)] or [(role, filename, bytes, lot number)] — by
    ``company``, time-stamped ``at`` (default: the server clock now, UTC), its reception begun ``began`` (default:
    ``at``). The bytes are sealed as an upload would be (:func:`deposit_uploads`). Raises :class:`DepositRefused`;
    nothing is written then. Not committed."""
    at = at or now_utc()
    refuse_closed(t)
    key = consultation_key(t)
    parts = []
    try:
        for role, name, data, *lot in files:
            up = storage.SealedUpload(t.id, key.public_pem, name)
            view = memoryview(data)
            for start in range(0, len(data), sealing.CHUNK):
                up.write(view[start:start + sealing.CHUNK])
            parts.append(Part(role, lot[0] if lot else None, name, up))
    except BaseException:
        for part in parts:
            part.upload.discard()
        raise
    return deposit_uploads(t, company, parts, at, began or at)


@dataclass
class Part:
    """One file of a deposit: its role, its lot (None: the candidature, or an offer for every lot), its name as sent,
    and the sealed upload holding it."""
    role: str
    lot: int | None
    filename: str
    upload: storage.SealedUpload


RECEIVING = ("published", "closed")  # closed: the deadline has passed — late deposits are still received


def refuse_closed(t: Tender) -> None:
    """:class:`DepositRefused` unless the consultation receives deposits at all: published (before or after its
    deadline: a late deposit is received as « hors délai »), not ended."""
    if t.status == "draft" or t.reception_deadline is None:
        raise DepositRefused(_l("This consultation does not receive bids."), f"tender {t.id} is not published")
    if t.status not in RECEIVING:
        raise DepositRefused(_l("This consultation has ended: it no longer receives bids."),
                             f"tender {t.id} is {t.status}")


def is_late(t: Tender, at: dt.datetime) -> bool:
    """Whether a deposit whose last byte arrived at ``at`` is out of time (at or after the deadline, to the
    second: R2143-2 and R2151-5 eliminate candidatures and offers « reçues hors délai »)."""
    return at >= deadline_utc(t)


def receives_late(t: Tender, now: dt.datetime | None = None) -> bool:
    """The deadline has passed but the consultation still receives (late) deposits."""
    return t.status in RECEIVING and t.reception_deadline is not None and is_late(t, now or now_utc())


def deposit_uploads(t: Tender, company: Company, parts: list[Part], at: dt.datetime,
                    began: dt.datetime | None = None) -> Bid:
    """Record a deposit whose files were sealed while they arrived (:class:`storage.SealedUpload`), time-stamped
    ``at`` — the reception of its last byte —, its reception begun ``began``. At or after the deadline it is
    recorded as late (``Bid.late``: kept, eliminated, never opened). Every check, then the files put in place, then
    the rows; on :class:`DepositRefused` every upload is discarded and nothing is written. Not committed."""
    try:
        return _record(t, company, parts, at, began)
    except BaseException:
        for part in parts:
            part.upload.discard()
        raise


def _record(t: Tender, company: Company, parts: list[Part], at: dt.datetime, began: dt.datetime | None) -> Bid:
    refuse_closed(t)
    late = is_late(t, at)
    if not company.confirmed:
        raise DepositRefused(_l("Confirm your e-mail address first (link in the message we sent you)."),
                             f"company {company.id} not confirmed")
    lots = {lot.number for lot in t.lots}
    if not parts or not any(p.role in OFFER_ROLES for p in parts):
        raise DepositRefused(_l("Add at least one file of your offer."), "no offer file")
    if len(parts) > MAX_FILES:
        raise DepositRefused(_l("At most %(n)d files per deposit.", n=MAX_FILES), "too many files")
    for p in parts:
        if p.role not in ROLES:
            raise DepositRefused(_l("Unknown part of the bid."), f"role {p.role!r}")
        if p.lot is not None and (p.lot not in lots or p.role == "candidature"):
            raise DepositRefused(_l("Unknown lot."), f"role {p.role!r} for lot {p.lot!r}")
        if p.upload.too_large:
            raise DepositRefused(_l("%(file)s: the file is larger than %(mb)d MB.", file=p.filename,
                                    mb=storage.max_attachment() // (1024 * 1024)), f"{p.filename!r} too large")
        try:
            storage.check_attachment(p.upload.plain, p.filename, sha256=p.upload.plain_sha256())
        except UploadRejected as exc:
            raise DepositRefused(_l("%(file)s: %(problem)s", file=p.filename, problem=exc.message_fr),
                                 f"{p.filename!r}: {exc.reason_en}") from exc
    sealed = []  # every file in place before the first row: a retry of the number never re-seals 20 MB
    for p in parts:
        stored = p.upload.finish()
        sealed.append(BidFile(role=p.role, lot_number=p.lot, filename=documents.safe_name(p.filename),
                              size=p.upload.size, sha256=p.upload.sealer.sha256, storage_key=stored.key,
                              sealed_sha256=stored.sha256, sealed_size=stored.size))
    bid = _numbered_bid(t, company, at, late, began)
    for p in parts:
        p.upload.follow(db.session)
    bid.files.extend(sealed)
    if late:  # eliminated: an earlier deposit in time stays the one that counts
        log.info("tenders: deposit %s of tender %s received out of time (%s, deadline %s): kept as late",
                 bid.number, t.id, at.isoformat(), deadline_utc(t).isoformat())
    else:
        previous = db.session.scalars(select(Bid).where(Bid.tender_id == t.id, Bid.company_id == company.id,
                                                        Bid.superseded_at.is_(None), Bid.late.is_(False),
                                                        Bid.id != bid.id)).all()
        for old in previous:
            old.superseded_at = at.replace(tzinfo=None)
    db.session.flush()
    return bid


NUMBER_ATTEMPTS = 50


def _numbered_bid(t: Tender, company: Company, at: dt.datetime, late: bool = False,
                  began: dt.datetime | None = None) -> Bid:
    """A new row of the register with the next free number of the consultation.

    Two deposits arriving together read the same highest number; the unique constraint (tender, number) lets one
    of them in and refuses the other, which takes the next number in a savepoint — the sealed files stay written,
    nothing else is redone. On PostgreSQL the second insert waits for the first transaction and fails only once it
    committed, so the next read sees its number."""
    for attempt in range(NUMBER_ATTEMPTS):
        highest = db.session.scalar(select(func.max(Bid.number)).where(Bid.tender_id == t.id)) or 0
        bid = Bid(tender_id=t.id, company_id=company.id, number=highest + 1, received_at=at.replace(tzinfo=None),
                  late=late, began_at=began.astimezone(UTC).replace(tzinfo=None) if began else None)
        try:
            with db.session.begin_nested():
                db.session.add(bid)
                db.session.flush()
        except IntegrityError:
            log.info("tenders: deposit number %s of tender %s taken by a concurrent deposit (attempt %d)",
                     highest + 1, t.id, attempt + 1)
            continue
        bid.company = company
        set_committed_value(bid, "files", [])  # a new row has no files yet: not read back before they are added
        return bid
    raise DepositRefused(_l("Too many bids are arriving at this very moment: send yours again."),
                         f"tender {t.id}: no free deposit number after {NUMBER_ATTEMPTS} attempts")


def register_of(t: Tender, company: Company | None = None) -> list[Bid]:
    """Every deposit of the consultation (of ``company`` only, when given), in order of receipt (replaced and late
    ones included), with their files (one statement for all of them: every caller lists or opens them)."""
    query = select(Bid).options(selectinload(Bid.files)).where(Bid.tender_id == t.id)
    if company is not None:
        query = query.where(Bid.company_id == company.id)
    return db.session.scalars(query.order_by(Bid.received_at, Bid.id)).all()


class Eliminated(Exception):
    """A file of a deposit received out of time: eliminated (R2143-2, R2151-5), kept sealed, never opened."""


def open_bid_file(t: Tender, f: BidFile, at: dt.datetime | None = None) -> bytes:
    """The plaintext of a deposited file — only after the deadline (:class:`sealing.Sealed` before), never for a
    late deposit (:class:`Eliminated`)."""
    if f.bid.late:
        raise Eliminated(f"tender {t.id}: file {f.id} belongs to deposit {f.bid.number}, received out of time")
    key = consultation_key(t)
    private = sealing.private_key(t.id, key.private_sealed, deadline_utc(t), at or now_utc())
    blob = storage.read(f.storage_key, f.sealed_sha256, f.sealed_size)
    return sealing.unseal(private, blob, t.id, f.sha256)


def open_for_staff(t: Tender, bid: Bid, f: BidFile) -> bytes:
    """:func:`open_bid_file` for the buyer's staff, audited: ``tenders.bid_file_opened``, or — for a file that does
    not open or does not match its fingerprint — ``tenders.bid_file_broken`` and :class:`sealing.Broken`."""
    try:
        data = open_bid_file(t, f)
    except (sealing.Broken, storage.StorageError) as exc:
        log.error("tenders: bid file %s of tender %s cannot be opened: %s", f.id, t.id, exc)
        audit.record("tenders.bid_file_broken", target=t, bid=bid.number, filename=f.filename, sha256=f.sha256)
        raise sealing.Broken(str(exc)) from exc
    audit.record("tenders.bid_file_opened", target=t, bid=bid.number, company_siret=bid.company.siret,
                 filename=f.filename, sha256=f.sha256)
    return data


# The texts a late deposit is received, eliminated and its backup copy opened under, as the receipt, the register
# of deposits and the PV d'ouverture cite them.
PROFILE_RULE_FR = ("arrêté du 22 mars 2019 relatif aux fonctionnalités et exigences minimales des profils d'acheteurs, "
                   "I, 4° et 5°")
ELIMINATION_FR = "articles R2143-2 et R2151-5 du code de la commande publique"
BACKUP_COPY_RULE_FR = ("arrêté du 22 mars 2019 fixant les modalités de mise à disposition des documents de la "
                       "consultation et de la copie de sauvegarde, article 2, II, 2°")

LATE_FR = ("Ce dépôt est parvenu après la date et l'heure limites de réception : il est reçu, horodaté et conservé "
           f"sous scellés ({PROFILE_RULE_FR}), mais il est HORS DÉLAI et sera éliminé par l'acheteur sans être ouvert "
           f"({ELIMINATION_FR}). Il ne remplace pas un dépôt antérieur reçu dans le délai.")


def receipt_doc(t: Tender, bid: Bid) -> documents.Doc:
    from portal.identity import zone_label

    zone = zone_label(t.collectivity)
    title = "Accusé de réception d'un dépôt électronique" + (" reçu hors délai" if bid.late else "")
    doc = documents.Doc("accuse", title, f"{t.reference}-depot-{bid.number}")
    rows = [("Consultation", f"{t.title} (référence {t.reference})"), ("Acheteur", t.collectivity.name),
            ("Entreprise", f"{bid.company.name} (SIRET {bid.company.siret})"),
            ("Dépôt n°", str(bid.number)),
            (f"Reçu le ({zone})", bid.received_paris.strftime("%d/%m/%Y à %H:%M:%S")),
            ("Horodatage du serveur (UTC)", bid.received_at.strftime("%Y-%m-%dT%H:%M:%SZ")),
            ("Date limite de réception", t.reception_deadline.strftime("%d/%m/%Y à %H:%M") + f" ({zone})")]
    if bid.late:
        if bid.began_at:
            rows.append((f"Début de la réception par le serveur ({zone})",
                         bid.began_paris.strftime("%d/%m/%Y à %H:%M:%S")
                         + f" — {bid.began_at.strftime('%Y-%m-%dT%H:%M:%SZ')} (UTC)"))
        rows.append(("État du dépôt", "HORS DÉLAI — sera éliminé, non ouvert"))
    doc.table(rows)
    if bid.late:
        doc.p(LATE_FR + " Si vous avez transmis dans le délai une copie de sauvegarde et que la transmission de ce "
              f"dépôt a commencé avant la date limite, l'acheteur peut ouvrir cette copie ({BACKUP_COPY_RULE_FR}).")
    doc.h("Fichiers reçus")
    doc.table([("Fichier", "Octets", "Empreinte SHA-256")]
              + [(f"{f.filename} — {file_label(f)}", str(f.size), f.sha256) for f in bid.files])
    doc.p("Les fichiers sont chiffrés dès leur réception avec la clé de la consultation et ne peuvent être ouverts "
          "par personne avant la date limite. "
          + ("Tous les dépôts, y compris ceux reçus hors délai, restent inscrits au registre des dépôts."
             if bid.late else "Un nouveau dépôt avant la date limite remplace celui-ci ; tous les dépôts restent "
             "inscrits au registre des dépôts."))
    return doc


def file_label(f: BidFile) -> str:
    """« Lot 2 — Mémoire technique », « Candidature (DUME ou DC1/DC2) »: what a deposited file is, in French."""
    role = ROLES.get(f.role, f.role)
    return f"Lot {f.lot_number} — {role}" if f.lot_number else role


def send_receipt(t: Tender, bid: Bid) -> None:
    link = absolute_url("tenders_public.receipt", tender_id=t.id, bid_id=bid.id)
    lines = [_l("Hello,"), "",
             _l("Your bid for the consultation « %(title)s » (%(buyer)s) was received on %(when)s, %(zone)s "
                "(server time-stamp %(utc)s UTC).", zone=t.zone_label, title=t.title, buyer=t.collectivity.name,
                when=bid.received_paris.strftime("%d/%m/%Y %H:%M:%S"),
                utc=bid.received_at.strftime("%Y-%m-%d %H:%M:%S")), ""]
    if bid.late:
        lines += [late_message(t), ""]
    lines += [_l("Files received, with their SHA-256 fingerprint:")]
    lines += [f"- {f.filename} ({f.size} o)\u00a0: {f.sha256}" for f in bid.files]
    lines += ["", _l("Your receipt (PDF), while you are signed in:"), link]
    subject = (_l("Bid received out of time: %(title)s", title=t.title[:80]) if bid.late
               else _l("Receipt of your bid: %(title)s", title=t.title[:80]))
    queue_email(bid.company.email, subject, "tenders/message", lines=lines)


def late_message(t: Tender):
    """What a company is told of its late deposit (the page's message, the e-mail), in its language."""
    return _l("Your bid arrived after the deadline (%(deadline)s, %(zone)s). It is received and kept sealed in the "
              "register of deposits, marked « out of time », but it will be eliminated by the buyer and will not be "
              "opened (articles R2143-2 and R2151-5 of the public procurement code); it does not replace a bid you "
              "deposited in time. Your receipt says so.",
              deadline=t.reception_deadline.strftime("%d/%m/%Y %H:%M"), zone=t.zone_label)
