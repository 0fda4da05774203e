"""Tables of the documents library and of the fiches juridiques.

Ownership (DESIGN.md §2, §6): none of these rows has a place. A library folder belongs to the organisation whose
library it is (``publisher_id``: a commune, an EPCI, the department or a partner) and is addressed to an audience —
who may read it: the organisation alone (a list naming it), the members of its EPCI, or everyone in the portal. Its
documents share the folder's very audience row (``audience_id``), so changing who may read a folder changes it for
every document in it and for their search entries at once, and the audience filter of ``portal.audiences`` narrows
every query on folders and documents like on news. Versions are reached through their document, never alone.

A fiche juridique is addressed to an audience chosen by its publisher (a partner or the department) like a news item;
its versions (what it said, and what changed) and its model documents are reached through it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.audiences import AudienceScoped
from portal.extensions import db
from portal.models import utcnow

# What a document is (the library's filter); labels in schemas.py.
DOCUMENT_CATEGORIES = ("compte_rendu", "deliberation", "circulaire", "arrete", "autre")
# Themes of the fiches juridiques; labels in schemas.py.
SHEET_THEMES = ("etat_civil", "urbanisme", "elections", "marches", "funeraire", "rh", "finances", "police",
                "autre")


class LibraryFolder(AudienceScoped, db.Model):
    """A folder of an organisation's library (« Comptes rendus du conseil », « Délibérations 2026 »…)."""

    __tablename__ = "desk_library_folder"
    __table_args__ = (UniqueConstraint("publisher_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The folder it is a sub-folder of (same library); read by the parent's readers or fewer (library.py).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("desk_library_folder.id", ondelete="CASCADE"),
                                                  index=True)

    documents = relationship("LibraryDocument", back_populates="folder", order_by="LibraryDocument.title",
                             viewonly=True)
    parent = relationship("LibraryFolder", remote_side=[id])


class LibraryDocument(AudienceScoped, db.Model):
    """A document of a folder; its file is its latest version (``DocumentVersion``), older ones are kept."""

    __tablename__ = "desk_library_document"
    __table_args__ = (Index("ix_desk_library_document_folder_updated", "folder_id", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("desk_library_folder.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    category: Mapped[str] = mapped_column(String(20), default="autre")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    current_version: Mapped[int] = mapped_column(default=1)

    folder = relationship(LibraryFolder, back_populates="documents")
    versions = relationship("DocumentVersion", back_populates="document", order_by="DocumentVersion.number.desc()",
                            cascade="all, delete-orphan")

    @property
    def latest(self) -> DocumentVersion:
        return self.versions[0]


class DocumentVersion(db.Model):
    """One uploaded file of a document. The file and its preview (first page of a PDF as PNG) are on disk
    (``portal.filestore``, ``DESK_STORAGE_DIR``), checked against the SHA-256 and size kept here at every read."""

    __tablename__ = "desk_library_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("desk_library_document.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    filename: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # portal.uploads kind: pdf, docx, odt, jpeg, png…
    mimetype: Mapped[str] = mapped_column(String(120))
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    preview_key: Mapped[str | None] = mapped_column(String(200))
    preview_sha256: Mapped[str | None] = mapped_column(String(64))
    preview_size: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(500), default="")  # what changed, as the uploader says
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    document = relationship(LibraryDocument, back_populates="versions")
    uploaded_by = relationship("User")


class LegalSheet(AudienceScoped, db.Model):
    """A fiche juridique: an article on one theme with its legal references. ``body_html`` is stored sanitised."""

    __tablename__ = "desk_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")
    legal_refs: Mapped[str] = mapped_column(Text, default="")  # one reference a line (« Code civil, art. 63 »)
    updated_on: Mapped[dt.date] = mapped_column(default=lambda: utcnow().date())  # « mis à jour le »
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    current_version: Mapped[int] = mapped_column(default=1)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    author = relationship("User")
    versions = relationship("SheetVersion", back_populates="sheet", order_by="SheetVersion.number.desc()",
                            cascade="all, delete-orphan")
    models = relationship("SheetModel", back_populates="sheet", order_by="SheetModel.filename",
                          cascade="all, delete-orphan")

    @property
    def references(self) -> list[str]:
        return [line.strip() for line in (self.legal_refs or "").splitlines() if line.strip()]


class SheetVersion(db.Model):
    """What a fiche said at one version, and what its author says changed."""

    __tablename__ = "desk_sheet_version"
    __table_args__ = (UniqueConstraint("sheet_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("desk_sheet.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body_html: Mapped[str] = mapped_column(Text, default="")
    legal_refs: Mapped[str] = mapped_column(Text, default="")
    change_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    sheet = relationship(LegalSheet, back_populates="versions")
    author = relationship("User")


class SheetModel(db.Model):
    """A model document attached to a fiche (.docx or .odt), on disk like the library's files."""

    __tablename__ = "desk_sheet_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("desk_sheet.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    mimetype: Mapped[str] = mapped_column(String(120))
    storage_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    sheet = relationship(LegalSheet, back_populates="models")
