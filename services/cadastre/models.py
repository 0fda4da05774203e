"""Tables of the land registry. Every row belongs to a commune (``TerritoryScoped``).

A **vintage** (millésime) is one import of one commune's plan. Importing a new vintage marks the previous one as no
longer current, in the same transaction: the pages show the current vintage, the previous ones stay queryable
for comparison. Parcels, and the other layers of the plan (buildings, sections, lieux-dits, commune boundary), carry
their vintage and a copy of its ``current`` flag so that the everyday query needs no join.

The ``*_geom_gist`` indexes are the GiST indexes of PostGIS. On SQLite they are declared as partial indexes over no
row (``WHERE 0``), so the one model fits both backends without a useless B-tree over the blobs: there, bounding-box
search goes through the R*Tree virtual tables (``geometry.py``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text, Boolean, Float, ForeignKey, Index, Integer, JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.audiences import ViewerGuarded
from portal.models import utcnow
from portal.tenancy import TerritoryScoped

from .geometry import MultiPolygonType


class Vintage(TerritoryScoped, db.Model):
    __tablename__ = "cadastre_vintage"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    source: Mapped[str] = mapped_column(String(20))  # etalab, edigeo, ogr
    files: Mapped[list] = mapped_column(JSON, default=list)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(254), default="system")
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    parcel_count: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("commune_insee", "label", name="uq_cadastre_vintage_commune_label"),)


class Parcel(TerritoryScoped, db.Model):
    __tablename__ = "cadastre_parcel"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexes kept to what the queries use (each one costs on every bulk import): (commune, current) serves the
    # territory filter alone and with the current flag, the unique (vintage, idu) serves the vintage (cascades).
    commune_insee: Mapped[str] = mapped_column(String(5), nullable=False)
    vintage_id: Mapped[int] = mapped_column(ForeignKey("cadastre_vintage.id", ondelete="CASCADE"))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    idu: Mapped[str] = mapped_column(String(14), index=True)  # 14 characters: commune + préfixe + section + numéro
    prefixe: Mapped[str] = mapped_column(String(3))
    section: Mapped[str] = mapped_column(String(2))
    numero: Mapped[str] = mapped_column(String(4))
    lieu_dit: Mapped[str | None] = mapped_column(String(120))
    contenance: Mapped[int | None] = mapped_column(Integer)  # DGFiP area, m²
    area: Mapped[float] = mapped_column(Float)  # computed from the Lambert-93 geometry, m²
    repaired: Mapped[bool] = mapped_column(Boolean, default=False)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    geom = mapped_column(MultiPolygonType(), nullable=False)

    vintage: Mapped[Vintage] = relationship()

    __table_args__ = (
        UniqueConstraint("vintage_id", "idu", name="uq_cadastre_parcel_vintage_idu"),
        Index("ix_cadastre_parcel_commune_current", "commune_insee", "current"),
        Index("cadastre_parcel_geom_gist", "geom", postgresql_using="gist", sqlite_where=text("0")),
    )

    @property
    def label(self) -> str:
        prefix = "" if self.prefixe == "000" else f"{self.prefixe} "
        return f"{prefix}{self.section} {int(self.numero) if self.numero.isdigit() else self.numero}"


class Feature(TerritoryScoped, db.Model):
    """Other layers of the plan: ``batiment`` (label: dur/léger), ``section``, ``lieu_dit``, ``commune``."""

    __tablename__ = "cadastre_feature"

    id: Mapped[int] = mapped_column(primary_key=True)
    vintage_id: Mapped[int] = mapped_column(ForeignKey("cadastre_vintage.id", ondelete="CASCADE"), index=True)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    layer: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(120), default="")
    area: Mapped[float] = mapped_column(Float)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    geom = mapped_column(MultiPolygonType(), nullable=False)

    __table_args__ = (
        Index("ix_cadastre_feature_current_layer", "current", "layer", "commune_insee"),
        Index("cadastre_feature_geom_gist", "geom", postgresql_using="gist", sqlite_where=text("0")),
    )


class Owner(TerritoryScoped, db.Model):
    """One right on one parcel (propriétaire, usufruitier…), from the owners CSV (``owners.py`` documents it).

    Personal data: read only with ``cadastre.owners.read``, every read audited with its purpose.
    """

    __tablename__ = "cadastre_owner"

    id: Mapped[int] = mapped_column(primary_key=True)
    idu: Mapped[str] = mapped_column(String(14), index=True)
    account: Mapped[str] = mapped_column(String(12))  # compte communal, e.g. +00123
    right: Mapped[str] = mapped_column(String(40))  # droit réel: propriétaire, usufruitier…
    kind: Mapped[str] = mapped_column(String(8))  # person / legal
    usage_name: Mapped[str] = mapped_column(String(120), default="")
    birth_name: Mapped[str] = mapped_column(String(120), default="")
    first_names: Mapped[str] = mapped_column(String(120), default="")
    birth_date: Mapped[dt.date | None]
    legal_name: Mapped[str] = mapped_column(String(200), default="")
    siren: Mapped[str | None] = mapped_column(String(9))
    address: Mapped[str] = mapped_column(String(300), default="")
    search_name: Mapped[str] = mapped_column(String(400), default="", index=True)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_cadastre_owner_commune_account", "commune_insee", "account"),)

    @property
    def display_name(self) -> str:
        if self.kind == "legal":
            return self.legal_name + (f" (SIREN {self.siren})" if self.siren else "")
        name = (self.usage_name or self.birth_name).upper()
        born = f" née {self.birth_name.upper()}" if self.usage_name and self.birth_name and \
            self.birth_name.upper() != self.usage_name.upper() else ""
        return f"{name} {self.first_names}{born}".strip()


class Address(TerritoryScoped, db.Model):
    """An address point of the Base Adresse Nationale (legacy BAN CSV or BAL 1.3), in Lambert-93 and WGS84.

    Its parcel is found at query time (the point inside a current parcel), or from BAL's ``cad_parcelles``.
    """

    __tablename__ = "cadastre_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    ban_id: Mapped[str] = mapped_column(String(60))
    number: Mapped[str] = mapped_column(String(12), default="")
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(5), default="")
    label: Mapped[str] = mapped_column(String(300))
    search_label: Mapped[str] = mapped_column(String(300), index=True)
    parcels: Mapped[str] = mapped_column(String(300), default="")  # BAL cad_parcelles, "|"-separated
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_cadastre_address_commune_x_y", "commune_insee", "x", "y"),)


class ImportJob(TerritoryScoped, db.Model):
    """An import started from the department's page (plan, owners or addresses of one commune).

    The row is the outbox of the Celery task (DESIGN.md §4): written with the uploaded files in the user's request,
    picked by ``tasks.run_import``, marked running, then done (with the report) in the same transaction as the
    imported data, or failed (with the errors). The uploaded files wait in ``folder`` and are deleted once the job
    ends (owners files are personal data).
    """

    __tablename__ = "cadastre_import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # plan / owners / addresses
    vintage: Mapped[str | None] = mapped_column(String(7))
    files: Mapped[list] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes uploaded
    folder: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)  # queued, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class DepartmentImport(ViewerGuarded, db.Model):
    """One import of a whole département's plans (``department_import.py``): one vintage per commune, each commune
    all-or-nothing. Department-wide (no commune of its own): the department page shows its progress; running the
    same import again resumes it (communes already imported at this vintage are skipped)."""

    __tablename__ = "cadastre_department_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_code: Mapped[str] = mapped_column(String(3), index=True)
    signature: Mapped[str] = mapped_column(String(64), index=True)  # of the files (names, sizes): the resume key
    kind: Mapped[str] = mapped_column(String(20))  # etalab / edigeo
    vintage: Mapped[str | None] = mapped_column(String(7))
    files: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running / done / failed (some communes)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    parcels: Mapped[int] = mapped_column(Integer, default=0)
    results: Mapped[dict] = mapped_column(JSON, default=dict)  # INSEE → {status, parcels, errors}
    started_by: Mapped[str] = mapped_column(String(254), default="system")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped
