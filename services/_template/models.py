"""The service's data. Data that belongs to a place mixes in ``TerritoryScoped`` (a ``commune_insee`` column, filtered
by ``portal/tenancy.py`` on every query, and by row-level security on PostgreSQL).

A real service derives its models from ``portal.extensions.db.Model`` and ships their migration in
``migrations/``. The skeleton keeps its table in a metadata of its own, so that importing it in a test never adds a
table to the portal's schema.
"""
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from portal.extensions import NAMING_CONVENTION
from portal.tenancy import TerritoryScoped


class TemplateBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Note(TemplateBase, TerritoryScoped):
    __tablename__ = "template_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
