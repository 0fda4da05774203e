"""Who may do what in the documents library and on the fiches juridiques, and the lookups the views use.

Reading goes through the audience filter (``portal.audiences``): a folder, a document or a fiche the active
organisation is not addressed to does not exist for it (404). Versions and model documents are reached through their
document or fiche, never alone. Writing a library is for the organisation whose library it is (``desk.library``
permission); a fiche is edited by the organisation that published it, or the department (moderation).
"""
from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from portal.extensions import db

from .access import MODERATE, PUBLISH
from .library_models import DocumentVersion, LegalSheet, LibraryDocument, LibraryFolder, SheetModel

LIBRARY = "desk.library"


def _own(row) -> bool:
    collectivity = g.get("collectivity")
    return collectivity is not None and row.publisher_id == collectivity.id


def may_manage_library() -> bool:
    return LIBRARY in g.get("permissions", set()) and g.get("collectivity") is not None


def may_manage(row) -> bool:
    """Folders and documents: the owner's people holding the library permission."""
    return may_manage_library() and _own(row)


def folder_or_404(folder_id: int) -> LibraryFolder:
    folder = db.session.scalar(select(LibraryFolder).where(LibraryFolder.id == folder_id))
    if folder is None:
        abort(404)
    return folder


def managed_folder_or_404(folder_id: int) -> LibraryFolder:
    folder = folder_or_404(folder_id)
    if not may_manage(folder):
        abort(403)
    return folder


def document_or_404(document_id: int) -> LibraryDocument:
    document = db.session.scalar(select(LibraryDocument).where(LibraryDocument.id == document_id))
    if document is None:
        abort(404)
    return document


def managed_document_or_404(document_id: int) -> LibraryDocument:
    document = document_or_404(document_id)
    if not may_manage(document):
        abort(403)
    return document


def version_or_404(document: LibraryDocument, number: int) -> DocumentVersion:
    version = db.session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id,
                                                              DocumentVersion.number == number))
    if version is None:
        abort(404)
    return version


def sheet_or_404(sheet_id: int) -> LegalSheet:
    sheet = db.session.scalar(select(LegalSheet).where(LegalSheet.id == sheet_id))
    if sheet is None:
        abort(404)
    return sheet


def may_edit_sheet(sheet: LegalSheet) -> bool:
    perms = g.get("permissions", set())
    return (PUBLISH in perms and _own(sheet)) or (MODERATE in perms and g.get("collectivity") is not None)


def editable_sheet_or_404(sheet_id: int) -> LegalSheet:
    sheet = sheet_or_404(sheet_id)
    if not may_edit_sheet(sheet):
        abort(403)
    return sheet


def model_or_404(sheet: LegalSheet, model_id: int) -> SheetModel:
    model = db.session.get(SheetModel, model_id)
    if model is None or model.sheet_id != sheet.id:
        abort(404)
    return model
