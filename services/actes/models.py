"""Acts sent to the préfecture for the contrôle de légalité, their files, their dated statuses, the préfecture's
replies, the classification of each préfecture and each collectivity's TdT account.

Ownership: an act belongs to the **collectivity** that took it (a commune or an EPCI): ``collectivity_id`` is what
:mod:`services.actes.access` checks, so an EPCI's act is not its member communes' and the other way round. Every row
also mixes in ``TerritoryScoped`` (``commune_insee``: the commune itself, or for an EPCI the first of its members),
so the portal's territory filter and PostgreSQL's row-level security apply on top of the ownership check.
Classifications are per préfecture (department-wide reference data, no territory); TdT accounts are the department's
records about a collectivity (read by the department pages and by the transmission task only).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.audiences import ViewerGuarded
from portal.models import Collectivity, utcnow
from portal.tenancy import TerritoryScoped

# Natures of the ACTES protocol: code → (abbreviation used in file names and identifiers, key of the French label).
NATURES = {1: "DE", 2: "AR", 3: "AI", 4: "CC", 5: "BF", 6: "AU"}

# Statuses of an act, in the order of its life. ``queued``: handed to the outbox, not yet accepted by the TdT.
STATUSES = ("draft", "queued", "posted", "pending", "transmitted", "acknowledged", "error", "cancelled")
IN_FLIGHT = ("queued", "posted", "pending", "transmitted")

# What an act is for publication (ordonnance 2021-1310): regulatory and « other » decisions are published in full,
# individual decisions never.
PUBLICATION_KINDS = ("regulatory", "other", "individual")

# Documents the préfecture sends about an act (S²LOW document types).
REPLY_KINDS = {2: "courrier_simple", 3: "demande_pieces", 4: "lettre_observations", 5: "defere"}


# Rows the public page may show (services.actes.access.published_acts_of says the same in SQLAlchemy).
PUBLIC_WHERE = text("published_at IS NOT NULL AND publication_kind <> 'individual' AND status = 'acknowledged'")


class Act(TerritoryScoped, db.Model):
    __tablename__ = "actes_act"
    __table_args__ = (UniqueConstraint("collectivity_id", "number", name="uq_actes_act_collectivity_number"),
                      # the collectivity's list (newest decisions first) and its public page (newest publications)
                      Index("ix_actes_act_collectivity_decision", "collectivity_id", "decision_date"),
                      Index("ix_actes_act_collectivity_published", "collectivity_id", "published_at"),
                      # The public page: only what it may show, in its order, behind the territory every query
                      # carries (commune_insee): its count is an index-only scan, its first page 50 index entries
                      # The commune's list and its search (views/pages.py): ordered like the page, led by the
                      # territory and the collectivity, covering what the search and row-level security read, so
                      # PostgreSQL answers the page's ids from the index alone (actes_0014_list_index)
                      Index("ix_actes_act_list", "commune_insee", "collectivity_id", "decision_date", "id",
                            postgresql_include=["number", "subject", "matiere", "status"]),
                      Index("ix_actes_act_public", "commune_insee", "collectivity_id", "published_at", "id",
                            postgresql_where=PUBLIC_WHERE, sqlite_where=PUBLIC_WHERE,
                            postgresql_include=["number", "subject", "decision_date"]))

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id"))
    nature: Mapped[int] = mapped_column(Integer)  # 1..6, NATURES
    matiere: Mapped[str] = mapped_column(String(20))  # "7.1", "2.2.1"… (up to five levels)
    number: Mapped[str] = mapped_column(String(15))  # numéro interne
    decision_date: Mapped[dt.date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text)  # objet, ≤ 499 characters
    session_date: Mapped[dt.date | None] = mapped_column(Date)  # séance of the council (délibérations)
    paper_annexes: Mapped[bool] = mapped_column(Boolean, default=False)  # transmission papier complémentaire
    publication_kind: Mapped[str] = mapped_column(String(16), default="other")
    classification_date: Mapped[dt.date | None] = mapped_column(Date)  # version of the classification used
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")  # why « erreur », in French, shown to the mairie
    # Transmission through the TdT
    tdt_transaction_id: Mapped[str | None] = mapped_column(String(40), index=True)
    send_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # set and committed before the HTTP call
    next_poll_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Acknowledgement (ARActe)
    unique_id: Mapped[str | None] = mapped_column(String(64), index=True)  # {dept}-{SIREN}-{YYYYMMDD}-{numéro}-{nature}
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    ar_xml: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Signature circuit: visa (the secretary), then the PAdES signature (the mayor or a deputy)
    visa_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    visa_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    signer_name: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    collectivity: Mapped[Collectivity] = relationship()
    files: Mapped[list[ActFile]] = relationship(back_populates="act", cascade="all, delete-orphan",
                                                order_by="ActFile.position")
    history: Mapped[list[ActStatusChange]] = relationship(back_populates="act", cascade="all, delete-orphan",
                                                          order_by="ActStatusChange.at")
    replies: Mapped[list[PrefectureReply]] = relationship(back_populates="act", cascade="all, delete-orphan",
                                                          order_by="PrefectureReply.received_on")

    @property
    def nature_code(self) -> str:
        return NATURES.get(self.nature, "")

    def file(self, role: str) -> ActFile | None:
        return next((f for f in self.files if f.role == role), None)

    @property
    def sent_file(self) -> ActFile | None:
        """The document sent to the préfecture (and stamped, published): the signed PDF when the act was signed."""
        return self.file("signed") or self.file("act")

    @property
    def annexes(self) -> list[ActFile]:
        return [f for f in self.files if f.role == "annex"]


class ActFile(TerritoryScoped, db.Model):
    """A file of an act on disk (``storage.py``): the act itself, its annexes, the business message we built, the
    stamped copy, a préfecture document."""

    __tablename__ = "actes_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("actes_act.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # act, annex, message, stamped
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded (shown, never used as a path)
    piece_type: Mapped[str] = mapped_column(String(5), default="")  # type de pièce, e.g. 99_DE
    mimetype: Mapped[str] = mapped_column(String(100), default="application/pdf")
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[list] = mapped_column(JSON, default=list)  # e.g. « scan without text »
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    act: Mapped[Act] = relationship(back_populates="files")


class ActStatusChange(TerritoryScoped, db.Model):
    __tablename__ = "actes_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("actes_act.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    act: Mapped[Act] = relationship(back_populates="history")


class PrefectureReply(TerritoryScoped, db.Model):
    """A document of the préfecture about an act (courrier simple, demande de pièces complémentaires, lettre
    d'observations, déféré) and the collectivity's answer; the legal delay to answer is two months."""

    __tablename__ = "actes_reply"
    __table_args__ = (UniqueConstraint("act_id", "tdt_document_id", name="uq_actes_reply_document"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("actes_act.id", ondelete="CASCADE"), index=True)
    tdt_document_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24))  # REPLY_KINDS values
    received_on: Mapped[dt.date] = mapped_column(Date)
    answer_due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    document_key: Mapped[str | None] = mapped_column(String(200))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_size: Mapped[int | None] = mapped_column(Integer)
    answer_kind: Mapped[str | None] = mapped_column(String(16))  # reponse, pieces, refus
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    answer_transaction_id: Mapped[str | None] = mapped_column(String(40))

    act: Mapped[Act] = relationship(back_populates="replies")


class Classification(db.Model):
    """The classification (natures and matières) a préfecture sent, kept whole as its XML, with its date."""

    __tablename__ = "actes_classification"
    __table_args__ = (UniqueConstraint("prefecture", "version_date", name="uq_actes_classification_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefecture: Mapped[str] = mapped_column(String(12), index=True)  # e.g. PREF010
    version_date: Mapped[dt.date] = mapped_column(Date)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PrefectureState(db.Model):
    """What the TdT last said of a préfecture's classification: the date of its version in force. A stored copy older
    than this is out of date (acts are refused until it is fetched again)."""

    __tablename__ = "actes_prefecture"

    prefecture: Mapped[str] = mapped_column(String(12), primary_key=True)
    current_version: Mapped[dt.date | None] = mapped_column(Date)
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TdtAccount(ViewerGuarded, db.Model):
    """A collectivity's account on the department's tiers de télétransmission and its certificate."""

    __tablename__ = "actes_tdt_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id"), unique=True)
    siret: Mapped[str] = mapped_column(String(14), default="")  # of the collectivity, for the open data
    login: Mapped[str] = mapped_column(String(100), default="")  # the collectivity's user on the TdT (shown only)
    prefecture: Mapped[str] = mapped_column(String(12), default="")  # PREFddd or SPREFdddA
    arrondissement: Mapped[int] = mapped_column(Integer, default=1)
    collectivity_nature: Mapped[str] = mapped_column(String(2), default="31")  # IDCL Nature (code of the protocol)
    certificate_holder: Mapped[str] = mapped_column(String(200), default="")
    certificate_expires_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_by_department: Mapped[bool] = mapped_column(Boolean, default=True)
    # Read from the certificate file the department uploaded (DER kept: a public certificate, no key)
    certificate_serial: Mapped[str] = mapped_column(String(64), default="")  # hexadecimal, as CAs print it
    certificate_subject: Mapped[str] = mapped_column(String(300), default="")
    certificate_issuer: Mapped[str] = mapped_column(String(300), default="")
    certificate_der: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # The collectivity's TLS client certificate on the TdT with its private key (PEM), sealed with AES-256-GCM under
    # the installation's key (services.actes.credentials): what authenticates its transmissions
    client_credential: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    client_certificate_subject: Mapped[str] = mapped_column(String(300), default="")
    client_certificate_expires_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    collectivity: Mapped[Collectivity] = relationship()

    @property
    def client_credential_held(self) -> bool:
        """Whether the sealed certificate is held (read without loading the deferred blob)."""
        return self.client_certificate_expires_on is not None


class CertificateReminder(db.Model):
    """One reminder e-mail about a TdT certificate's expiry, sent once: (account, expiry date, days before) is
    unique, so a second run of the task, or two workers at once, never send it again; a new certificate (another
    expiry date) has reminders of its own."""

    __tablename__ = "actes_certificate_reminder"
    __table_args__ = (UniqueConstraint("account_id", "expires_on", "days", name="uq_actes_certificate_reminder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("actes_tdt_account.id", ondelete="CASCADE"), index=True)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)  # 60, 30 or 7 (REMINDER_DAYS)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SignerCertificate(ViewerGuarded, db.Model):
    """A signer's certificate, kept as the PKCS#12 file they uploaded: encrypted by their own passphrase, which is
    never stored (they type it at each signature)."""

    __tablename__ = "actes_signer_certificate"
    __table_args__ = (UniqueConstraint("user_id", "collectivity_id", name="uq_actes_signer_certificate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id"), index=True)
    pkcs12: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    not_after: Mapped[dt.datetime | None] = mapped_column(DateTime)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# Séances of the council, their délibérations and votes, the liste des délibérations and the procès-verbal ----------
# (L2121-25, L2121-15, R2121-9). Added as a block of their own: the act keeps its columns; the link of a
# délibération to its séance and its vote is a row of ``actes_seance_item``.

class Seance(TerritoryScoped, db.Model):
    """A séance of the council (municipal or communautaire) as the mairie declares it: date, place, members present,
    represented (« pouvoir donné à … ») and absent, secretary of séance; its liste des délibérations (generated PDF,
    published within a week) and its procès-verbal (uploaded PDF, published once adopted at a later séance)."""

    __tablename__ = "actes_seance"
    __table_args__ = (Index("ix_actes_seance_collectivity_held", "collectivity_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collectivity_id: Mapped[int] = mapped_column(ForeignKey("collectivity.id"))
    held_on: Mapped[dt.date] = mapped_column(Date)
    held_at: Mapped[str] = mapped_column(String(5), default="")  # "20:30"
    place: Mapped[str] = mapped_column(String(200), default="")
    members_in_office: Mapped[int] = mapped_column(Integer, default=0)  # membres en exercice
    present: Mapped[list] = mapped_column(JSON, default=list)  # names
    represented: Mapped[list] = mapped_column(JSON, default=list)  # [[name, proxy holder], …]
    absent: Mapped[list] = mapped_column(JSON, default=list)  # names
    secretary: Mapped[str] = mapped_column(String(200), default="")  # secrétaire de séance
    # Convocation (L2121-10 to L2121-12) and quorum (L2121-17)
    agenda: Mapped[list | None] = mapped_column(JSON, default=list)  # ordre du jour: one subject a line
    convened_on: Mapped[dt.date | None] = mapped_column(Date)  # date the convocation was sent
    convocation_key: Mapped[str | None] = mapped_column(String(200))  # the convocation PDF as sent
    convocation_sha256: Mapped[str | None] = mapped_column(String(64))
    convocation_size: Mapped[int | None] = mapped_column(Integer)
    # Held after a first convocation without quorum (L2121-17 al. 2): no quorum needed, three days later at least
    second_convocation_of_id: Mapped[int | None] = mapped_column(ForeignKey("actes_seance.id", ondelete="SET NULL"))
    quorum_reached: Mapped[bool | None] = mapped_column(Boolean)  # None: not checked yet
    # Liste des délibérations (L2121-25): the PDF as published, unalterable
    list_key: Mapped[str | None] = mapped_column(String(200))
    list_sha256: Mapped[str | None] = mapped_column(String(64))
    list_size: Mapped[int | None] = mapped_column(Integer)
    list_published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Procès-verbal (L2121-15): uploaded, adopted at a later séance, then published
    pv_key: Mapped[str | None] = mapped_column(String(200))
    pv_sha256: Mapped[str | None] = mapped_column(String(64))
    pv_size: Mapped[int | None] = mapped_column(Integer)
    pv_filename: Mapped[str] = mapped_column(String(255), default="")
    pv_uploaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    pv_adopted_seance_id: Mapped[int | None] = mapped_column(ForeignKey("actes_seance.id", ondelete="SET NULL"))
    pv_published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    collectivity: Mapped[Collectivity] = relationship()
    items: Mapped[list[SeanceItem]] = relationship(back_populates="seance", cascade="all, delete-orphan",
                                                   order_by="SeanceItem.position")
    pv_adopted_seance: Mapped[Seance | None] = relationship(remote_side="Seance.id",
                                                            foreign_keys=[pv_adopted_seance_id])
    second_convocation_of: Mapped[Seance | None] = relationship(remote_side="Seance.id",
                                                                foreign_keys=[second_convocation_of_id])

    @property
    def list_due_on(self) -> dt.date:
        """Last day to publish the liste des délibérations: one week after the séance (L2121-25)."""
        return self.held_on + dt.timedelta(days=7)

    @property
    def voters(self) -> int:
        return len(self.present or []) + len(self.represented or [])


class SeanceItem(TerritoryScoped, db.Model):
    """A délibération examined in a séance, with its vote: for, against, abstentions, adopted or rejected."""

    __tablename__ = "actes_seance_item"
    __table_args__ = (UniqueConstraint("act_id", name="uq_actes_seance_item_act"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seance_id: Mapped[int] = mapped_column(ForeignKey("actes_seance.id", ondelete="CASCADE"), index=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("actes_act.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_against: Mapped[int | None] = mapped_column(Integer)
    abstentions: Mapped[int | None] = mapped_column(Integer)
    adopted: Mapped[bool] = mapped_column(Boolean, default=True)

    seance: Mapped[Seance] = relationship(back_populates="items")
    act: Mapped[Act] = relationship()

    @property
    def votes_cast(self) -> int | None:
        """Suffrages exprimés + abstentions: the members who took part in the vote (VOTE_REEL of the SCDL)."""
        parts = (self.votes_for, self.votes_against, self.abstentions)
        return None if all(p is None for p in parts) else sum(p or 0 for p in parts)
