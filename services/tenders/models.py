"""Tenders, their lots, attachments, public questions and award.

Ownership: a tender belongs to the **collectivity** that buys (a commune or an EPCI), not to a commune's territory:
an EPCI's draft must not be visible to its member communes, and a commune's draft not to the EPCI. So these rows are
collectivity-owned (``collectivity_id``), not ``TerritoryScoped``; every view fetches them through
:func:`services.tenders.access.tender_or_404` / :func:`owned_tenders`, the one place that checks ownership.
The public pages read published tenders only, and never the questioners' e-mail addresses. On PostgreSQL the same
rule is a second lock (``ViewerGuarded``, migration ``tenders_0008_tender_rls``): drafts are their buyer's.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.audiences import ViewerGuarded
from portal.identity import local_wall
from portal.extensions import db
from portal.models import Collectivity, utcnow

STATUSES = ("draft", "published", "closed", "awarded", "unsuccessful", "discontinued")
ENDED = ("unsuccessful", "discontinued")  # declared infructueuse / sans suite (R2185-1): final, no contract


class Tender(ViewerGuarded, db.Model):
    __tablename__ = "tender"
    __table_args__ = (UniqueConstraint("collectivity_id", "reference", name="uq_tender_collectivity_reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id"), index=True)
    reference: Mapped[str] = mapped_column(String(16))  # the buyer's own number, DECP "id" (1-16 characters)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    step: Mapped[int] = mapped_column(Integer, default=1)  # furthest step reached in the wizard
    # 1. Need
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    nature: Mapped[str] = mapped_column(String(16), default="")
    cpv_code: Mapped[str] = mapped_column(String(10), default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    place_insee: Mapped[str | None] = mapped_column(String(5), index=True)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    renewal_months: Mapped[int] = mapped_column(Integer, default=0)
    single_lot_reason: Mapped[str] = mapped_column(Text, default="")
    # 2. Amount (HT, whole duration including renewals): the sum of the lots
    amount_ht: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # 3. Procedure (computed by the rules engine, stored with the date it was computed for)
    launch_date: Mapped[dt.date | None] = mapped_column(Date)
    procedure: Mapped[str] = mapped_column(String(16), default="")
    publicity: Mapped[str] = mapped_column(String(16), default="")
    # 4. Calendar
    media: Mapped[list] = mapped_column(JSON, default=list)
    questions_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reception_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    opening_date: Mapped[dt.date | None] = mapped_column(Date)
    notification_date: Mapped[dt.date | None] = mapped_column(Date)
    # 5. Criteria [{"code": "price", "label": "...", "weight": 60}, ...]
    criteria: Mapped[list] = mapped_column(JSON, default=list)
    # 6. Documents: buyer's identification for the notice and the DECP
    buyer_siret: Mapped[str] = mapped_column(String(14), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # End of a procedure without a contract (status "unsuccessful" or "discontinued"): date of the decision, its
    # reason (a code of services.tenders.ending.REASONS) and the buyer's own explanation, published as they are
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str] = mapped_column(String(32), default="")
    end_details: Mapped[str] = mapped_column(Text, default="")
    # The DCE zip, built at publication and again at each correction notice, kept in the file storage (storage.py):
    # downloads serve it as it was published
    dce_key: Mapped[str | None] = mapped_column(String(80))
    dce_sha256: Mapped[str] = mapped_column(String(64), default="")
    dce_size: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    collectivity: Mapped[Collectivity] = relationship()
    lots: Mapped[list[TenderLot]] = relationship(back_populates="tender", cascade="all, delete-orphan",
                                                 order_by="TenderLot.number")
    attachments: Mapped[list[TenderAttachment]] = relationship(back_populates="tender",
                                                               cascade="all, delete-orphan",
                                                               order_by="TenderAttachment.id")
    questions: Mapped[list[TenderQuestion]] = relationship(back_populates="tender", cascade="all, delete-orphan",
                                                           order_by="TenderQuestion.id")
    awards: Mapped[list[TenderAward]] = relationship(back_populates="tender", cascade="all, delete-orphan",
                                                     order_by="TenderAward.lot_number")
    corrections: Mapped[list[TenderCorrection]] = relationship(back_populates="tender", cascade="all, delete-orphan",
                                                               order_by="TenderCorrection.number")

    @property
    def zone_label(self) -> str:
        """« heure de Paris », « heure de Mayotte »…: the legal time of the buyer's département, in which the
        deadline and every time shown to the companies are written (``portal.identity``)."""
        from portal.identity import zone_label

        return zone_label(self.collectivity)

    @property
    def total_months(self) -> int:
        return (self.duration_months or 0) + (self.renewals or 0) * (self.renewal_months or 0)

    def award_of(self, lot_number: int):
        return next((a for a in self.awards if a.lot_number == lot_number), None)

    @property
    def fully_awarded(self) -> bool:
        return bool(self.lots) and all(self.award_of(lot.number) for lot in self.lots)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def dce_zip(self) -> bytes | None:
        """The published DCE as stored (checked against its SHA-256), or None before publication."""
        from . import storage

        return storage.read(self.dce_key, self.dce_sha256, self.dce_size) if self.dce_key else None

    def is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or local_wall(self.collectivity)
        return self.status == "published" and self.reception_deadline is not None and now < self.reception_deadline


class TenderLot(db.Model):
    __tablename__ = "tender_lot"
    __table_args__ = (UniqueConstraint("tender_id", "number", name="uq_tender_lot_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    amount_ht: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))

    tender: Mapped[Tender] = relationship(back_populates="lots")


class TenderAttachment(db.Model):
    """A file the buyer adds to the DCE (plans, CCTP written elsewhere…). The bytes are in the file storage
    (storage.py) under ``storage_key``; the row keeps their SHA-256 and size, checked at every read."""

    __tablename__ = "tender_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    storage_key: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    tender: Mapped[Tender] = relationship(back_populates="attachments")

    @property
    def content(self) -> bytes:
        from . import storage

        return storage.read(self.storage_key, self.sha256, self.size)


class TenderQuestion(db.Model):
    """A company's question on the public page. The e-mail address is personal data: never shown publicly."""

    __tablename__ = "tender_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    question: Mapped[str] = mapped_column(Text)
    public_question: Mapped[str] = mapped_column(Text, default="")  # as published: names, e-mails, phones removed
    answer: Mapped[str] = mapped_column(Text, default="")
    asked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    tender: Mapped[Tender] = relationship(back_populates="questions")


class TenderAward(db.Model):
    """The award of one lot (a contract: one DECP record per lot)."""

    __tablename__ = "tender_award"
    __table_args__ = (UniqueConstraint("tender_id", "lot_number", name="uq_tender_award_lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    lot_number: Mapped[int] = mapped_column(Integer, default=1)
    holder_name: Mapped[str] = mapped_column(String(300))
    holder_siret: Mapped[str] = mapped_column(String(14))
    amount_ht: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    notified_on: Mapped[dt.date] = mapped_column(Date)
    offers_received: Mapped[int] = mapped_column(Integer)
    price_form: Mapped[str] = mapped_column(String(16), default="Forfaitaire")
    data_published_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    tender: Mapped[Tender] = relationship(back_populates="awards")

    @property
    def contract_id(self) -> str:
        """DECP ``id`` (1-16 characters): the tender's reference, plus the lot when there are several."""
        return self.tender.reference if len(self.tender.lots) <= 1 else f"{self.tender.reference}-L{self.lot_number}"


class TenderCorrection(db.Model):
    """A correction notice (avis rectificatif) of a published consultation: what changed, from what to what, and
    why. Numbered from 1 per tender; shown on the public page and added to the DCE as a document."""

    __tablename__ = "tender_correction"
    __table_args__ = (UniqueConstraint("tender_id", "number", name="uq_tender_correction_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tender.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    # [{"field": "reception_deadline", "old": "2026-12-01T12:00", "new": "2026-12-08T12:00"}, ...]
    changes: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    tender: Mapped[Tender] = relationship(back_populates="corrections")
