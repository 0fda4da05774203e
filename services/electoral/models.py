"""Electoral rolls: polling stations, the street-to-bureau table, voters, their movements (kept forever) and elections.

Every table belongs to one commune (``TerritoryScoped``): the portal's choke point narrows every query to the active
commune, and PostgreSQL row-level security does it a second time (policies created in the migration).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models import fold
from portal.tenancy import TerritoryScoped


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


LISTS = ("general", "eu", "municipal")  # liste principale, complémentaire européenne, complémentaire municipale


class PollingStation(TerritoryScoped, db.Model):
    """Bureau de vote."""

    __tablename__ = "electoral_polling_station"
    __table_args__ = (UniqueConstraint("commune_insee", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    @property
    def label(self) -> str:
        return f"{self.number} — {self.name}"


class StreetBureau(TerritoryScoped, db.Model):
    """Découpage: which bureau the voters of a street vote in."""

    __tablename__ = "electoral_street_bureau"
    __table_args__ = (UniqueConstraint("commune_insee", "street_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_key: Mapped[str] = mapped_column(String(200))  # fold(type + name), e.g. "rue de la gare"
    street_label: Mapped[str] = mapped_column(String(200))
    bureau_id: Mapped[int] = mapped_column(ForeignKey("electoral_polling_station.id"), index=True)
    bureau: Mapped[PollingStation] = relationship()


class Voter(TerritoryScoped, db.Model):
    __tablename__ = "electoral_voter"
    # Search within one commune reads this index only (the LIKE filters run on its columns, rows come in name
    # order): 35 000 voters searched in milliseconds (bench/electoral.py).
    __table_args__ = (Index("ix_electoral_voter_search", "commune_insee", "status", "search_name", "search_address",
                            "birth_date", "ine"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    birth_name: Mapped[str] = mapped_column(String(100))
    usage_name: Mapped[str] = mapped_column(String(100), default="")
    first_names: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))  # M / F (arrêté du 12/11/2013, art. 4 g)
    birth_date: Mapped[dt.date] = mapped_column(Date, index=True)
    birth_place: Mapped[str] = mapped_column(String(100), default="")  # commune of birth
    birth_department: Mapped[str] = mapped_column(String(3), default="")  # empty when born abroad
    birth_country: Mapped[str] = mapped_column(String(60), default="")  # empty when born in France
    nationality: Mapped[str] = mapped_column(String(60), default="")  # complementary lists only
    street_number: Mapped[str] = mapped_column(String(20), default="")
    street_type: Mapped[str] = mapped_column(String(40), default="")
    street_name: Mapped[str] = mapped_column(String(200), default="")
    lieu_dit: Mapped[str] = mapped_column(String(200), default="")
    complement1: Mapped[str] = mapped_column(String(200), default="")
    complement2: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(60), default="")
    ine: Mapped[str | None] = mapped_column(String(20), index=True)
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("electoral_polling_station.id"), index=True)
    on_general: Mapped[bool] = mapped_column(Boolean, default=True)
    on_eu: Mapped[bool] = mapped_column(Boolean, default=False)
    on_municipal: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)  # registered / removed
    # Folded identity and address, the same on SQLite and PostgreSQL (accent- and case-insensitive search).
    search_name: Mapped[str] = mapped_column(String(400), default="", index=True)
    identity_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    search_address: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    bureau: Mapped[PollingStation | None] = relationship()
    movements: Mapped[list[Movement]] = relationship(back_populates="voter", order_by="Movement.id")

    def refresh_search(self) -> None:
        for name in ("usage_name", "birth_place", "birth_department", "birth_country", "nationality", "street_number",
                     "street_type", "street_name", "lieu_dit", "complement1", "complement2", "postal_code", "city",
                     "country"):
            if getattr(self, name) is None:
                setattr(self, name, "")
        for name, default in (("on_general", True), ("on_eu", False), ("on_municipal", False)):
            if getattr(self, name) is None:
                setattr(self, name, default)
        self.search_name = fold(f"{self.birth_name} {self.usage_name} {self.first_names}")
        self.identity_key = identity_key(self.birth_name, self.first_names, self.birth_date)
        self.search_address = fold(" ".join([self.street_number, self.street_type, self.street_name, self.lieu_dit]))

    @property
    def display_name(self) -> str:
        return format_display_name(self.birth_name, self.usage_name, self.first_names)

    @property
    def address_line(self) -> str:
        return format_address_line(self.street_number, self.street_type, self.street_name, self.lieu_dit,
                                   self.complement1, self.complement2)

    @property
    def town_line(self) -> str:
        return " ".join(p for p in (self.postal_code, self.city) if p)

    @property
    def birth_place_line(self) -> str:
        if self.birth_country and fold(self.birth_country) != "france":
            return f"{self.birth_place} ({self.birth_country})" if self.birth_place else self.birth_country
        return f"{self.birth_place} ({self.birth_department})" if self.birth_department else self.birth_place

    @property
    def lists(self) -> list[str]:
        return [name for name in LISTS if getattr(self, f"on_{name}")]

    def age_on(self, day: dt.date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def format_display_name(birth_name: str, usage_name: str, first_names: str) -> str:
    """« BIRTH (USAGE) First names », the usage name only when it differs from the birth name."""
    name = birth_name.upper()
    if usage_name and fold(usage_name) != fold(birth_name):
        name += f" ({usage_name.upper()})"
    return f"{name} {first_names}"


def format_address_line(street_number: str, street_type: str, street_name: str, lieu_dit: str, complement1: str,
                        complement2: str) -> str:
    """The address on one line: complements, number and street, lieu-dit."""
    street = " ".join(p for p in (street_number, street_type, street_name) if p)
    return ", ".join(p for p in (complement1, complement2, street, lieu_dit) if p)


def identity_key(birth_name: str, first_names: str, birth_date) -> str:
    """Same person: birth name, first first-name, birth date — folded, so accents and case do not matter."""
    first = (fold(first_names).split() or [""])[0]
    return f"{fold(birth_name).replace(' ', '')}|{first}|{birth_date.isoformat() if birth_date else ''}"


def legal_sort_key(v: Voter):
    """Alphabetical order of the list: birth name, then first names, then birth date (letters only, no accents)."""
    return (fold(v.birth_name).replace(" ", ""), fold(v.first_names), v.birth_date, v.id or 0)


class Movement(TerritoryScoped, db.Model):
    """One change of the roll, kept forever: the roll at any past date is rebuilt from these rows."""

    __tablename__ = "electoral_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("electoral_voter.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # registration/removal/address/bureau/civil_status
    reason: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[dt.date] = mapped_column(Date, index=True)
    author: Mapped[str] = mapped_column(String(254))
    author_id: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field → [before, after]
    justification_name: Mapped[str] = mapped_column(String(200), default="")
    justification: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    voter: Mapped[Voter] = relationship(back_populates="movements")


class Election(TerritoryScoped, db.Model):
    """Scrutin: its legal calendar is computed from its first round date (services/electoral/calendar.py), with the
    registration deadline of its decree when it has one."""

    __tablename__ = "electoral_election"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    first_round: Mapped[dt.date] = mapped_column(Date, index=True)
    second_round: Mapped[dt.date | None] = mapped_column(Date)
    lists: Mapped[list] = mapped_column(JSON, default=list)
    # an early election fixes its own registration deadline by decree (legislative elections of 30 June 2024: the
    # lists as they stood on the decree's date): the date and its legal reference replace the L. 17 deadline
    registration_deadline: Mapped[dt.date | None] = mapped_column(Date)
    registration_deadline_reference: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImportBatch(TerritoryScoped, db.Model):
    """An uploaded file waiting for the secretary's confirmation (preview → confirm)."""

    __tablename__ = "electoral_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending / applied / cancelled
    author: Mapped[str] = mapped_column(String(254))
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PrintJob(TerritoryScoped, db.Model):
    """A long print run (émargement lists or voter cards of a large commune) made in the background.

    The row is the outbox of the Celery task (DESIGN.md §4): written in the user's request, picked by
    ``tasks.run_print``, marked running with its progress, then done with the file (kept under
    ``ELECTORAL_PRINT_DIR``) or failed. Downloading the file is audited like printing it.
    """

    __tablename__ = "electoral_print_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # emargement / cards
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("electoral_polling_station.id", ondelete="SET NULL"))
    election_id: Mapped[int | None] = mapped_column(ForeignKey("electoral_election.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)  # queued, running, done, failed
    done_parts: Mapped[int] = mapped_column(default=0)
    total_parts: Mapped[int] = mapped_column(default=0)
    voters: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(200), default="")
    path: Mapped[str] = mapped_column(String(500), default="")
    size: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    bureau: Mapped[PollingStation | None] = relationship()
    election: Mapped[Election | None] = relationship()


class Procuration(TerritoryScoped, db.Model):
    """A procuration (Code électoral L. 71 to L. 78, as reformed on 1 January 2022): a voter of the roll (the
    mandant) lets another voter (the mandataire), who may be registered in another commune, vote in their place —
    for one election, or for a period of at most one year. Kept after its end or cancellation (history)."""

    __tablename__ = "electoral_procuration"

    id: Mapped[int] = mapped_column(primary_key=True)
    mandant_id: Mapped[int] = mapped_column(ForeignKey("electoral_voter.id"), index=True)
    proxy_birth_name: Mapped[str] = mapped_column(String(100))
    proxy_usage_name: Mapped[str] = mapped_column(String(100), default="")
    proxy_first_names: Mapped[str] = mapped_column(String(200))
    proxy_birth_date: Mapped[dt.date] = mapped_column(Date)
    proxy_commune: Mapped[str] = mapped_column(String(100), default="")  # where the mandataire is registered
    proxy_ine: Mapped[str] = mapped_column(String(20), default="")
    proxy_key: Mapped[str] = mapped_column(String(300), index=True)  # identity_key of the mandataire (L. 73)
    election_id: Mapped[int | None] = mapped_column(ForeignKey("electoral_election.id", ondelete="SET NULL"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    authority: Mapped[str] = mapped_column(String(20))  # police, gendarmerie, consulate, online, court
    established_on: Mapped[dt.date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(60), default="")
    source: Mapped[str] = mapped_column(String(10), default="manual")  # manual / import
    cancelled_on: Mapped[dt.date | None] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    mandant: Mapped[Voter] = relationship()
    election: Mapped[Election | None] = relationship()

    @property
    def proxy_name(self) -> str:
        usage = f" ({self.proxy_usage_name})" if self.proxy_usage_name and \
            self.proxy_usage_name != self.proxy_birth_name else ""
        return f"{self.proxy_birth_name}{usage} {self.proxy_first_names}"

    @property
    def established_in_france(self) -> bool:
        return self.authority != "consulate"

    def active_on(self, day: dt.date) -> bool:
        return self.cancelled_on is None and self.valid_from <= day <= self.valid_until
