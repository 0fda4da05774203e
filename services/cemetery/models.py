"""The cemetery's data: the plan (cemetery → zone → allée → emplacement), concessions with their holders and ayants
droit, the deceased and the operations, the commune's tariffs, and the reprise procedures.

Every table belongs to one commune (``TerritoryScoped``): the portal's choke point narrows every ORM query to the
active territory; PostgreSQL row-level security does it again (policies in ``migrations/cemetery_0001_…``).

Geometry is stored portably as a GeoJSON polygon in WGS84 (a JSON column, as ``alerts`` stores its zones) with its
bounding box in four float columns, so the map and the plan search need no spatial extension on either backend.
"""
from __future__ import annotations

import datetime as dt

import unicodedata
import uuid

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, Numeric, String, Text, \
    UniqueConstraint, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.extensions import db
from portal.tenancy import TerritoryScoped


def fold(text: str) -> str:
    """Lower case, without accents, spaces collapsed: what a name is searched by (« Lefèvre » ↔ « lefevre »)."""
    text = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().split())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# Emplacement types of openCimetière, in French in the interface (see schemas.PLOT_KIND_LABELS).
PLOT_KINDS = ("concession", "common_ground", "columbarium", "cavurne", "enfeu", "ossuary", "garden")
# Concession types of L2223-14 CGCT.
CONCESSION_KINDS = ("temporary", "thirty", "fifty", "perpetual")
# Places a body takes in an emplacement (openCimetière): a coffin 1, an urn 0.1, a reduction 0.5, in tenths.
BODY_KINDS = ("coffin", "urn", "reduction")
BODY_TENTHS = {"coffin": 10, "urn": 1, "reduction": 5}
OPERATION_KINDS = ("inhumation", "exhumation", "reduction", "reunion", "urn_deposit", "scattering")
REPRISE_KINDS = ("abandonment", "expired", "common_ground")


class _Shape:
    """A GeoJSON polygon (WGS84) and its bounding box."""

    geometry: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # SQL NULL, not JSON null
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)

    def set_geometry(self, geometry: dict | None) -> None:
        self.geometry = geometry
        if not geometry:
            self.min_lon = self.min_lat = self.max_lon = self.max_lat = None
            return
        ring = geometry["coordinates"][0]
        lons, lats = [p[0] for p in ring], [p[1] for p in ring]
        self.min_lon, self.max_lon, self.min_lat, self.max_lat = min(lons), max(lons), min(lats), max(lats)


class _ImageShape:
    """The same object placed on the cemetery's scanned plan: a polygon in the image's pixels (``[x, y]``, origin
    at the top left corner, y downwards), kept apart from the geographic geometry (the scan is not georeferenced)."""

    image_geometry: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


class Cemetery(_Shape, _ImageShape, TerritoryScoped, db.Model):
    __tablename__ = "cemetery_cemetery"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    # Rotation delay of the terrain commun, in years (at least five: R2223-5 CGCT), set by the conseil municipal.
    common_ground_years: Mapped[int] = mapped_column(Integer, default=5)
    # The scanned paper plan (PNG or JPEG, in CEMETERY_PLAN_DIR through portal.filestore), checked on upload.
    plan_image_key: Mapped[str | None] = mapped_column(String(200))
    plan_image_sha256: Mapped[str] = mapped_column(String(64), default="")
    plan_image_size: Mapped[int] = mapped_column(Integer, default=0)
    plan_image_kind: Mapped[str] = mapped_column(String(8), default="")  # png / jpeg
    plan_image_width: Mapped[int] = mapped_column(Integer, default=0)
    plan_image_height: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    zones: Mapped[list[Zone]] = relationship(back_populates="cemetery", order_by="Zone.name",
                                             cascade="all, delete-orphan")


class Zone(_Shape, _ImageShape, TerritoryScoped, db.Model):
    __tablename__ = "cemetery_zone"
    __table_args__ = (UniqueConstraint("cemetery_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cemetery_id: Mapped[int] = mapped_column(ForeignKey("cemetery_cemetery.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    cemetery: Mapped[Cemetery] = relationship(back_populates="zones")
    alleys: Mapped[list[Alley]] = relationship(back_populates="zone", order_by="Alley.name",
                                               cascade="all, delete-orphan")


class Alley(_Shape, _ImageShape, TerritoryScoped, db.Model):
    """An allée of a zone."""

    __tablename__ = "cemetery_alley"
    __table_args__ = (UniqueConstraint("zone_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("cemetery_zone.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    zone: Mapped[Zone] = relationship(back_populates="alleys")
    plots: Mapped[list[Plot]] = relationship(back_populates="alley", order_by="Plot.number")


class Plot(_Shape, _ImageShape, TerritoryScoped, db.Model):
    """An emplacement: a grave, a columbarium case, a cavurne, an enfeu, the ossuary, the jardin du souvenir."""

    __tablename__ = "cemetery_plot"
    __table_args__ = (UniqueConstraint("alley_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alley_id: Mapped[int] = mapped_column(ForeignKey("cemetery_alley.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="concession")
    # places × 10 (a double caveau: 20; a columbarium case of 4 urns: 4); None: no limit (ossuary, jardin du souvenir)
    capacity_tenths: Mapped[int | None] = mapped_column(Integer, default=20)
    area_m2: Mapped[float | None] = mapped_column(Float)
    monument: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    in_reprise: Mapped[bool] = mapped_column(Boolean, default=False)

    alley: Mapped[Alley] = relationship(back_populates="plots")
    concessions: Mapped[list[Concession]] = relationship(back_populates="plot", order_by="Concession.starts_on")
    deceased: Mapped[list[Deceased]] = relationship(back_populates="plot", foreign_keys="Deceased.plot_id",
                                                    order_by="Deceased.death_date")

    @property
    def label(self) -> str:
        alley = self.alley
        return plot_label(alley.zone.name, alley.name, self.number)


def plot_label(zone: str, alley: str, number) -> str:
    """An emplacement as printed: « Carré A · Allée 2 · 14 » (zone · allée · number)."""
    return f"{zone} · {alley} · {number}"


class Tariff(TerritoryScoped, db.Model):
    """One line of the commune's tariff table, in force from ``valid_from`` until the next line of the same kind."""

    __tablename__ = "cemetery_tariff"
    __table_args__ = (UniqueConstraint("commune_insee", "plot_kind", "concession_kind", "duration_years",
                                       "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_kind: Mapped[str] = mapped_column(String(20), default="concession")
    concession_kind: Mapped[str] = mapped_column(String(12))
    duration_years: Mapped[int | None] = mapped_column(Integer)  # None: perpétuelle
    valid_from: Mapped[dt.date] = mapped_column(Date)
    price: Mapped[float] = mapped_column(Numeric(10, 2, asdecimal=False))
    deliberation: Mapped[str] = mapped_column(String(200), default="")  # the conseil municipal's décision


class Concession(TerritoryScoped, db.Model):
    """A concession of an emplacement for a period; a renewal or a conversion is a new row (``previous_id``)."""

    __tablename__ = "cemetery_concession"

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("cemetery_plot.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(30), default="")
    kind: Mapped[str] = mapped_column(String(12))
    duration_years: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, index=True)  # None: perpétuelle
    price: Mapped[float] = mapped_column(Numeric(10, 2, asdecimal=False), default=0)
    tariff_id: Mapped[int | None] = mapped_column(ForeignKey("cemetery_tariff.id", ondelete="SET NULL"))
    # individuelle, collective (named people) or familiale (L2223-13)
    scope: Mapped[str] = mapped_column(String(12), default="family")
    # active → renewed / converted (a newer row continues it), retroceded (given back), taken_back (reprise)
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("cemetery_concession.id", ondelete="SET NULL"))
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    refund: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    plot: Mapped[Plot] = relationship(back_populates="concessions")
    people: Mapped[list[Person]] = relationship(back_populates="concession", order_by="Person.id",
                                                cascade="all, delete-orphan")
    previous: Mapped[Concession | None] = relationship(remote_side="Concession.id")

    @property
    def holders(self) -> list[Person]:
        return [p for p in self.people if p.role == "holder"]

    @property
    def beneficiaries(self) -> list[Person]:
        return [p for p in self.people if p.role == "beneficiary"]


class Person(TerritoryScoped, db.Model):
    """A concessionnaire (``role="holder"``) or an ayant droit (``"beneficiary"``), with their link and contact."""

    __tablename__ = "cemetery_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    concession_id: Mapped[int] = mapped_column(ForeignKey("cemetery_concession.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(12), default="holder")
    last_name: Mapped[str] = mapped_column(String(120), index=True)
    first_names: Mapped[str] = mapped_column(String(200), default="")
    relationship_: Mapped[str] = mapped_column("relationship", String(80), default="")  # link to the holder
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    search_name: Mapped[str] = mapped_column(String(400), default="")  # fold(last name + first names)

    concession: Mapped[Concession] = relationship(back_populates="people")

    @property
    def full_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_names}".strip()


def deceased_name(last_name: str, first_names: str, birth_name: str | None) -> str:
    """A deceased's name as printed: « DURAND Marie née MARTIN » (the birth name when it differs)."""
    born = f" née {birth_name.upper()}" if birth_name and birth_name != last_name else ""
    return f"{last_name.upper()} {first_names}{born}".strip()


class Deceased(TerritoryScoped, db.Model):
    """A défunt, where they rest now (``plot_id``; None once their ashes were scattered or they left the commune)."""

    __tablename__ = "cemetery_deceased"

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int | None] = mapped_column(ForeignKey("cemetery_plot.id", ondelete="SET NULL"), index=True)
    last_name: Mapped[str] = mapped_column(String(120), index=True)
    birth_name: Mapped[str] = mapped_column(String(120), default="", index=True)
    first_names: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    death_place: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(String(12), default="coffin")  # coffin / urn / reduction
    where_now: Mapped[str] = mapped_column(String(200), default="")  # after an exhumation out of the cemetery
    search_name: Mapped[str] = mapped_column(String(400), default="")  # fold(last, birth and first names)
    # « Mort pour la France » (mention on the death certificate, code des pensions militaires L. 511-1 ff.): the
    # grave may not be taken back for abandonment within 50 years of the burial (R2223-22 CGCT).
    mpf: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    mpf_on: Mapped[dt.date | None] = mapped_column(Date)  # date of the mention, when known
    mpf_source: Mapped[str] = mapped_column(String(200), default="")  # where it comes from (acte, ONACVG fiche…)

    plot: Mapped[Plot | None] = relationship(back_populates="deceased", foreign_keys=[plot_id])

    @property
    def full_name(self) -> str:
        return deceased_name(self.last_name, self.first_names, self.birth_name)

    @classmethod
    def burial_order(cls):
        """ORDER BY of the people of a grave, the same on both databases: by date of death, an unknown date last
        (SQLite sorts NULL first, PostgreSQL last), then in the order they were recorded (equal dates)."""
        return (cls.death_date.is_(None), cls.death_date, cls.id)


class Operation(TerritoryScoped, db.Model):
    """An operation in an emplacement: inhumation, exhumation, réduction / réunion de corps, dépôt d'urne,
    dispersion of ashes."""

    __tablename__ = "cemetery_operation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("cemetery_plot.id", ondelete="RESTRICT"), index=True)
    deceased_id: Mapped[int | None] = mapped_column(ForeignKey("cemetery_deceased.id", ondelete="SET NULL"),
                                                    index=True)
    destination_plot_id: Mapped[int | None] = mapped_column(ForeignKey("cemetery_plot.id", ondelete="SET NULL"))
    destination: Mapped[str] = mapped_column(String(200), default="")  # out of the cemetery
    on: Mapped[dt.date] = mapped_column(Date, index=True)
    funeral_operator: Mapped[str] = mapped_column(String(200), default="")
    authorisation_number: Mapped[str] = mapped_column(String(60), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    plot: Mapped[Plot] = relationship(foreign_keys=[plot_id])
    destination_plot: Mapped[Plot | None] = relationship(foreign_keys=[destination_plot_id])
    deceased: Mapped[Deceased | None] = relationship()


class Reprise(TerritoryScoped, db.Model):
    """A reprise procedure of an emplacement: for abandonment (L2223-17), of an expired concession not renewed
    (L2223-15), or of a grave in the terrain commun after the rotation delay (R2223-5)."""

    __tablename__ = "cemetery_reprise"

    id: Mapped[int] = mapped_column(primary_key=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("cemetery_plot.id", ondelete="RESTRICT"), index=True)
    concession_id: Mapped[int | None] = mapped_column(ForeignKey("cemetery_concession.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open / done / abandoned
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")

    plot: Mapped[Plot] = relationship()
    concession: Mapped[Concession | None] = relationship()
    steps: Mapped[list[RepriseStep]] = relationship(back_populates="reprise", order_by="RepriseStep.position",
                                                    cascade="all, delete-orphan")


class RepriseStep(TerritoryScoped, db.Model):
    """One step of a reprise: a dated task (``due_on``: not before; ``done_on``: when the mairie did it) and the
    document generated for it."""

    __tablename__ = "cemetery_reprise_step"
    __table_args__ = (UniqueConstraint("reprise_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reprise_id: Mapped[int] = mapped_column(ForeignKey("cemetery_reprise.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(24))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")

    reprise: Mapped[Reprise] = relationship(back_populates="steps")


class Preference(TerritoryScoped, db.Model):
    """What the commune chose: the public search of a grave, and what it shows."""

    __tablename__ = "cemetery_preference"
    __table_args__ = (UniqueConstraint("commune_insee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_search: Mapped[bool] = mapped_column(Boolean, default=False)
    public_dates: Mapped[bool] = mapped_column(Boolean, default=True)  # years of birth and death


class RegisterJob(TerritoryScoped, db.Model):
    """A register (concessions, operations, ossuary) built as PDF by a Celery task (``tasks.build_register``).

    The row is the task's outbox (DESIGN.md §4): written in the user's request, claimed by the task, then done with
    the file (in ``CEMETERY_REGISTER_DIR`` through portal.filestore, checked by its SHA-256 on download) or failed.
    """

    __tablename__ = "cemetery_register_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)  # queued, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    file_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class PlanVersion(TerritoryScoped, db.Model):
    """What the plan of a commune is built from, as a token replaced (in the same transaction) by every write to a row
    the plan draws or colours (``bump_plan_versions`` below): the plan's response is kept per token and not built
    again while it stays the same (``queries.compact_plan``). A random token, not a counter: a database created again
    (the tests, the bench) never meets a body kept for another one."""

    __tablename__ = "cemetery_plan_version"
    __table_args__ = (UniqueConstraint("commune_insee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), default="")


# The rows the plan.json draws or colours: their shapes and names, the capacity and the reprise flag of the
# emplacements, the active concessions' ends, the bodies resting in them (and what moves them).
PLAN_MODELS = (Cemetery, Zone, Alley, Plot, Concession, Deceased, Operation, Reprise)


def bump_plan_versions(connection, codes) -> None:
    """Give the plan of each commune of ``codes`` a new token (insert or update, one statement per backend). For the
    writes that bypass the ORM's flush (bulk ``insert()``): the flush does it by itself (``_bump_on_flush``)."""
    codes = sorted(set(codes))
    if not codes:
        return
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = PlanVersion.__table__
    stmt = insert(table).values([{"commune_insee": c, "token": uuid.uuid4().hex} for c in codes])
    connection.execute(stmt.on_conflict_do_update(index_elements=[table.c.commune_insee],
                                                  set_={"token": stmt.excluded.token}))


@event.listens_for(Session, "after_flush")
def _bump_on_flush(session, flush_context):
    codes = {obj.commune_insee for obj in list(session.new) + list(session.deleted) if isinstance(obj, PLAN_MODELS)}
    codes |= {obj.commune_insee for obj in session.dirty
              if isinstance(obj, PLAN_MODELS) and session.is_modified(obj, include_collections=False)}
    codes.discard(None)
    if codes:
        bump_plan_versions(session.connection(), codes)


@event.listens_for(Person, "before_insert")
@event.listens_for(Person, "before_update")
def _person_search_name(mapper, connection, person):
    person.search_name = fold(f"{person.last_name} {person.first_names}")


@event.listens_for(Deceased, "before_insert")
@event.listens_for(Deceased, "before_update")
def _deceased_search_name(mapper, connection, deceased):
    deceased.search_name = fold(f"{deceased.last_name} {deceased.birth_name} {deceased.first_names}")
