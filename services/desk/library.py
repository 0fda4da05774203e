"""Writes of the documents library and of the fiches juridiques, shared by the pages, the CLI and the bench (no
``flask.request`` here), and the checks every file goes through before it is stored.

- Files: ``portal.uploads.check_upload`` (type by content, PDF parsed, archives opened with the zip-bomb checks,
  macros and programs refused) up to ``DESK_MAX_UPLOAD_MB`` (20 MB by default), then ``portal.filestore`` under
  ``DESK_STORAGE_DIR`` (default ``instance/desk/files``), SHA-256 and size kept in the row and checked at each read.
  Model documents of a fiche are also opened with python-docx or odfpy: a file they cannot read is refused.
- The library: accepted files are PDF, Word/LibreOffice texts and spreadsheets, JPEG and PNG images. The first page
  of a PDF is rendered once, at upload, as a PNG (pypdfium2) and stored beside it: the preview. Images are their own
  preview. The text of a PDF (its first :data:`TEXT_PAGES` pages) goes to the search index.
- Every upload, new version, deletion, folder change and fiche publication or edit is audited.
"""
from __future__ import annotations

import datetime as dt
import difflib
import io
import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import audit
from portal.audiences import EPCI_MEMBERS, LIST, new_audience
from portal.extensions import db
from portal.filestore import FileStore, StorageError  # noqa: F401 - StorageError is part of this API
from portal.models import Collectivity, User, utcnow
from portal.settings import setting
from portal.uploads import UploadRejected, check_upload

from . import search
from .library_models import (DOCUMENT_CATEGORIES, SHEET_THEMES, DocumentVersion, LegalSheet, LibraryDocument,
                             LibraryFolder, SheetModel, SheetVersion)
from .operations import AudienceChoice, DeskError
from .sanitize import clean, text_of

log = logging.getLogger(__name__)

store = FileStore("DESK_STORAGE_DIR", "desk/files", "desk")
LIBRARY_KINDS = {"pdf", "docx", "odt", "xlsx", "ods", "jpeg", "png"}
MODEL_KINDS = {"docx", "odt"}
TEXT_PAGES = 30  # pages of a PDF whose text is indexed
TEXT_LIMIT = 200_000  # characters of a document's text indexed
PREVIEW_WIDTH = 800  # pixels


def max_upload() -> int:
    try:
        return int(setting("DESK_MAX_UPLOAD_MB") or 20) * 1024 * 1024
    except (TypeError, ValueError):
        log.warning("desk: DESK_MAX_UPLOAD_MB is not a whole number of MB; 20 MB used")
        return 20 * 1024 * 1024


# Who may read a folder --------------------------------------------------------------------------------------------
OWN, MEMBERS, EVERYONE = "own", "epci_members", "all"
READERS = (OWN, MEMBERS, EVERYONE)  # narrowest first: a sub-folder is read by its parent's readers or fewer


def epci_of(owner: Collectivity) -> Collectivity | None:
    """The EPCI whose members a folder of ``owner`` may be opened to (itself for an EPCI, its first EPCI for a
    commune, none for the department or a partner)."""
    if owner.kind == "epci":
        return owner
    if owner.kind == "commune":
        epcis = sorted(owner.epcis, key=lambda e: e.name)
        return epcis[0] if epcis else None
    return None


def readers_of(folder: LibraryFolder) -> str:
    kind = folder.audience.kind
    return OWN if kind == LIST else MEMBERS if kind == EPCI_MEMBERS else EVERYONE


def _set_readers(audience, owner: Collectivity, readers: str) -> None:
    """Point the folder's audience row (shared with its documents and their search entries) at ``readers``."""
    if readers not in READERS:
        raise DeskError(_("Choose who may read the folder."))
    if readers == MEMBERS:
        epci = epci_of(owner)
        if epci is None:
            raise DeskError(_("Your organisation belongs to no EPCI: choose your organisation alone or everyone."))
        audience.kind, audience.epci_id, audience.members = EPCI_MEMBERS, epci.id, []
    elif readers == OWN:
        audience.kind, audience.epci_id, audience.members = LIST, None, [owner]
    else:
        audience.kind, audience.epci_id, audience.members = "all", None, []
    audience.service_slug = None


def wider(readers: str, than: str) -> bool:
    return READERS.index(readers) > READERS.index(than) if readers in READERS and than in READERS else False


def allowed_readers(parent: LibraryFolder | None) -> tuple[str, ...]:
    """The readers a (sub-)folder of ``parent`` may be given: those of the parent or fewer."""
    return READERS if parent is None else READERS[:READERS.index(readers_of(parent)) + 1]


def ancestors(folder: LibraryFolder) -> list[LibraryFolder]:
    """The folders above ``folder``, the library's own first (for the breadcrumbs)."""
    chain, seen, current = [], {folder.id}, folder.parent
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = current.parent
    return chain[::-1]


def subfolders(folder: LibraryFolder) -> list[LibraryFolder]:
    """The sub-folders of ``folder`` the viewer may read (the audience filter applies)."""
    return db.session.scalars(select(LibraryFolder).where(LibraryFolder.parent_id == folder.id)
                              .order_by(LibraryFolder.name)).all()


def _narrow_below(folder: LibraryFolder, readers: str) -> None:
    """Sub-folders (at any depth) read by more than ``readers`` are narrowed to it (they are the owner's, who reads
    what it published whatever their audience)."""
    children = db.session.scalars(select(LibraryFolder).where(LibraryFolder.parent_id == folder.id)).all()
    for child in children:
        if wider(readers_of(child), readers):
            _set_readers(child.audience, child.publisher, readers)
        _narrow_below(child, readers_of(child))


# Folders ----------------------------------------------------------------------------------------------------------
def create_folder(owner: Collectivity, *, name: str, description: str = "", readers: str, by: User,
                  parent: LibraryFolder | None = None) -> LibraryFolder:
    name = (name or "").strip()[:120]
    if not name:
        raise DeskError(_("Give the folder a name."))
    if parent is not None and parent.publisher_id != owner.id:
        raise DeskError(_("A sub-folder belongs to the library of its folder."))
    if parent is not None and readers not in allowed_readers(parent):
        raise DeskError(_("A sub-folder is read by the readers of its folder or fewer."))
    if db.session.scalar(select(LibraryFolder.id).where(LibraryFolder.publisher_id == owner.id,
                                                        LibraryFolder.name == name)):
        raise DeskError(_("Your library already has a folder with this name."))
    audience = new_audience("all")
    _set_readers(audience, owner, readers)
    folder = LibraryFolder(name=name, description=(description or "").strip()[:300], publisher_id=owner.id,
                           audience=audience, parent_id=parent.id if parent is not None else None)
    db.session.add(folder)
    db.session.flush()
    audit.record("desk.folder_created", target=folder, collectivity=owner, user=by, name=name, readers=readers,
                 parent=parent.name if parent is not None else "")
    return folder


def edit_folder(folder: LibraryFolder, *, name: str, description: str, readers: str, by: User) -> LibraryFolder:
    name = (name or "").strip()[:120]
    if not name:
        raise DeskError(_("Give the folder a name."))
    clash = db.session.scalar(select(LibraryFolder.id).where(LibraryFolder.publisher_id == folder.publisher_id,
                                                             LibraryFolder.name == name, LibraryFolder.id != folder.id))
    if clash:
        raise DeskError(_("Your library already has a folder with this name."))
    if folder.parent_id is not None and readers not in allowed_readers(folder.parent):
        raise DeskError(_("A sub-folder is read by the readers of its folder or fewer."))
    before = readers_of(folder)
    folder.name, folder.description = name, (description or "").strip()[:300]
    _set_readers(folder.audience, folder.publisher, readers)
    _narrow_below(folder, readers)
    db.session.flush()
    audit.record("desk.folder_edited", target=folder, collectivity=folder.publisher, user=by, name=name,
                 readers=readers, readers_before=before)
    return folder


def delete_folder(folder: LibraryFolder, *, by: User) -> None:
    count = db.session.scalar(select(func.count()).select_from(LibraryDocument)
                              .where(LibraryDocument.folder_id == folder.id))
    if count:
        raise DeskError(_("The folder still holds documents: delete or move them first."))
    children = db.session.scalar(select(func.count()).select_from(LibraryFolder)
                                 .where(LibraryFolder.parent_id == folder.id))
    if children:
        raise DeskError(_("The folder still holds sub-folders: delete them first."))
    audit.record("desk.folder_deleted", target=folder, collectivity=folder.publisher, user=by, name=folder.name)
    audience = folder.audience
    db.session.delete(folder)
    db.session.flush()
    db.session.delete(audience)


# Files ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedFile:
    filename: str
    kind: str
    mimetype: str
    data: bytes


def safe_filename(filename: str) -> str:
    """The name shown and sent back (no folder part, no quotes or control characters)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>|:*?')
    return name.strip()[:200] or "document"


def check_file(data: bytes, filename: str, allowed: set[str]) -> CheckedFile:
    """The file when its content is what its extension says (``UploadRejected`` otherwise)."""
    info = check_upload(data, filename or "", allowed=allowed, max_bytes=max_upload())
    if info.kind in MODEL_KINDS:
        _open_office(data, filename, info.kind)
    return CheckedFile(safe_filename(filename), info.kind, info.mimetype, data)


def _open_office(data: bytes, filename: str, kind: str) -> None:
    """Open a .docx with python-docx, an .odt with odfpy: the checks of portal.uploads look at the archive, these
    read the document itself."""
    try:
        if kind == "docx":
            import docx

            docx.Document(io.BytesIO(data))
        else:
            from odf.opendocument import load

            load(io.BytesIO(data))
    except Exception as exc:  # both libraries raise many kinds of errors on a broken document
        raise UploadRejected(_l("The document cannot be opened: it is damaged or is not a real .%(ext)s file.",
                                ext=kind), f"{filename!r}: {kind} does not open ({exc.__class__.__name__})") from exc


def pdf_text(data: bytes) -> str:
    """Text of the first pages of a PDF, for the search index ('' for a scan)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        parts, total = [], 0
        for page in reader.pages[:TEXT_PAGES]:
            text = page.extract_text() or ""
            parts.append(text)
            total += len(text)
            if total > TEXT_LIMIT:
                break
    except Exception as exc:  # a PDF that passed the upload checks but whose text cannot be read
        log.info("desk: PDF text not extracted: %s", exc)
        return ""
    return " ".join(" ".join(parts).split())[:TEXT_LIMIT]


def pdf_preview(data: bytes) -> bytes | None:
    """The first page of a PDF as a PNG :data:`PREVIEW_WIDTH` pixels wide (None when it cannot be rendered)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
        try:
            page = pdf[0]
            scale = PREVIEW_WIDTH / max(page.get_width(), 1)
            image = page.render(scale=scale).to_pil()
        finally:
            pdf.close()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    except Exception as exc:  # pdfium refuses some files pypdf accepts: no preview, the download stays
        log.warning("desk: PDF preview not rendered: %s", exc)
        return None


def read_file(version: DocumentVersion) -> bytes:
    return store.read(version.storage_key, version.sha256, version.size)


def read_preview(version: DocumentVersion) -> bytes | None:
    if version.kind in ("jpeg", "png"):
        return read_file(version)
    if not version.preview_key:
        return None
    return store.read(version.preview_key, version.preview_sha256, version.preview_size)


def _store_version(document: LibraryDocument, number: int, checked: CheckedFile, note: str,
                   by: User) -> DocumentVersion:
    prefix = f"library/{document.publisher_id}/{document.id}"
    stored = store.save_for(db.session, prefix, checked.data)
    version = DocumentVersion(document=document, number=number, filename=checked.filename, kind=checked.kind,
                              mimetype=checked.mimetype, storage_key=stored.key, sha256=stored.sha256,
                              size=stored.size, note=(note or "").strip()[:500], uploaded_by_id=by.id)
    if checked.kind == "pdf":
        png = pdf_preview(checked.data)
        if png is not None:
            preview = store.save_for(db.session, prefix, png)
            version.preview_key, version.preview_sha256, version.preview_size = preview.key, preview.sha256, \
                preview.size
    db.session.add(version)
    return version


def _document_fields(title: str, description: str, category: str) -> tuple[str, str, str]:
    title = (title or "").strip()[:200]
    if not title:
        raise DeskError(_("Give the document a title."))
    if category not in DOCUMENT_CATEGORIES:
        raise DeskError(_("Choose what kind of document it is."))
    return title, (description or "").strip()[:1000], category


def add_document(folder: LibraryFolder, *, title: str, description: str = "", category: str, checked: CheckedFile,
                 by: User) -> LibraryDocument:
    title, description, category = _document_fields(title, description, category)
    document = LibraryDocument(folder_id=folder.id, title=title, description=description, category=category,
                               publisher_id=folder.publisher_id, audience_id=folder.audience_id)
    db.session.add(document)
    db.session.flush()
    version = _store_version(document, 1, checked, "", by)
    db.session.flush()
    index_document(document, version, checked.data)
    audit.record("desk.document_uploaded", target=document, collectivity=folder.publisher, user=by, title=title,
                 filename=checked.filename, folder=folder.name, sha256=version.sha256)
    return document


def add_version(document: LibraryDocument, *, checked: CheckedFile, note: str, by: User) -> DocumentVersion:
    number = (db.session.scalar(select(func.max(DocumentVersion.number))
                                .where(DocumentVersion.document_id == document.id)) or 0) + 1
    version = _store_version(document, number, checked, note, by)
    document.current_version = number
    document.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(document, ["versions"])
    index_document(document, version, checked.data)
    audit.record("desk.document_versioned", target=document, collectivity=document.publisher, user=by,
                 title=document.title, filename=checked.filename, version=number, note=version.note,
                 sha256=version.sha256)
    return version


def edit_document(document: LibraryDocument, *, title: str, description: str, category: str,
                  folder: LibraryFolder, by: User) -> LibraryDocument:
    title, description, category = _document_fields(title, description, category)
    if folder.publisher_id != document.publisher_id:
        raise DeskError(_("Choose one of your library's folders."))
    moved = folder.id != document.folder_id
    document.title, document.description, document.category = title, description, category
    document.folder_id, document.audience_id = folder.id, folder.audience_id
    db.session.flush()
    db.session.expire(document, ["folder", "audience"])
    latest = document.latest
    data = read_file(latest) if latest.kind == "pdf" else b""
    index_document(document, latest, data)
    audit.record("desk.document_edited", target=document, collectivity=document.publisher, user=by, title=title,
                 folder=folder.name if moved else "")
    return document


def delete_document(document: LibraryDocument, *, by: User) -> None:
    audit.record("desk.document_deleted", target=document, collectivity=document.publisher, user=by,
                 title=document.title, versions=len(document.versions))
    for version in document.versions:
        store.discard(db.session, version.storage_key)
        store.discard(db.session, version.preview_key)
    search.unindex("document", document.id)
    db.session.delete(document)
    db.session.flush()


def index_document(document: LibraryDocument, version: DocumentVersion, data: bytes) -> None:
    text = pdf_text(data) if version.kind == "pdf" and data else ""
    body = "\n".join(p for p in (document.description, version.filename, text) if p)
    search.index("document", document.id, title=document.title, body=body, audience_id=document.audience_id,
                 publisher_id=document.publisher_id, published_at=document.updated_at)


# Fiches juridiques ------------------------------------------------------------------------------------------------
def _sheet_fields(theme: str, title: str, body: str, legal_refs: str):
    title = (title or "").strip()[:200]
    if not title:
        raise DeskError(_("Give the fiche a title."))
    if theme not in SHEET_THEMES:
        raise DeskError(_("Choose the fiche's theme."))
    body_html = clean(body)
    if not text_of(body_html):
        raise DeskError(_("Write the fiche's text."))
    refs = "\n".join(line.strip()[:300] for line in (legal_refs or "").splitlines() if line.strip())
    return theme, title, body_html, refs


def publish_sheet(*, publisher: Collectivity, author: User, audience: AudienceChoice, theme: str, title: str,
                  body: str, legal_refs: str = "", updated_on=None) -> LegalSheet:
    theme, title, body_html, refs = _sheet_fields(theme, title, body, legal_refs)
    sheet = LegalSheet(theme=theme, title=title, body_html=body_html, legal_refs=refs, publisher_id=publisher.id,
                       author_id=author.id, updated_on=updated_on or utcnow().date(), current_version=1)
    sheet.audience = audience.build()
    db.session.add(sheet)
    db.session.flush()
    db.session.add(SheetVersion(sheet_id=sheet.id, number=1, title=title, body_html=body_html, legal_refs=refs,
                                change_note="", author_id=author.id))
    _index_sheet(sheet)
    audit.record("desk.sheet_published", target=sheet, collectivity=publisher, user=author, title=title,
                 theme=theme, audience=audience.kind)
    return sheet


def edit_sheet(sheet: LegalSheet, *, author: User, audience: AudienceChoice, theme: str, title: str, body: str,
               legal_refs: str, change_note: str, updated_on=None) -> LegalSheet:
    theme, title, body_html, refs = _sheet_fields(theme, title, body, legal_refs)
    change_note = (change_note or "").strip()[:500]
    if not change_note:
        raise DeskError(_("Say in a few words what changed (readers see it in the history)."))
    text_changed = (title, body_html, refs) != (sheet.title, sheet.body_html, sheet.legal_refs)
    sheet.theme, sheet.title, sheet.body_html, sheet.legal_refs = theme, title, body_html, refs
    old = sheet.audience
    sheet.audience = audience.build()
    if text_changed:
        sheet.current_version += 1
        sheet.updated_on = updated_on or utcnow().date()
        db.session.add(SheetVersion(sheet_id=sheet.id, number=sheet.current_version, title=title,
                                    body_html=body_html, legal_refs=refs, change_note=change_note,
                                    author_id=author.id))
    db.session.flush()
    _index_sheet(sheet)
    db.session.delete(old)
    audit.record("desk.sheet_edited", target=sheet, collectivity=sheet.publisher, user=author, title=title,
                 version=sheet.current_version, note=change_note, audience=audience.kind)
    return sheet


def withdraw_sheet(sheet: LegalSheet, *, author: User) -> None:
    audit.record("desk.sheet_withdrawn", target=sheet, collectivity=sheet.publisher, user=author, title=sheet.title)
    for model in sheet.models:
        store.discard(db.session, model.storage_key)
    audience = sheet.audience
    search.unindex("sheet", sheet.id)
    db.session.delete(sheet)
    db.session.flush()
    db.session.delete(audience)


def attach_model(sheet: LegalSheet, *, checked: CheckedFile, by: User) -> SheetModel:
    if checked.kind not in MODEL_KINDS:
        raise DeskError(_("Model documents are .docx or .odt files."))
    stored = store.save_for(db.session, f"sheets/{sheet.id}", checked.data)
    model = SheetModel(sheet_id=sheet.id, filename=checked.filename, kind=checked.kind, mimetype=checked.mimetype,
                       storage_key=stored.key, sha256=stored.sha256, size=stored.size)
    db.session.add(model)
    db.session.flush()
    audit.record("desk.sheet_model_added", target=sheet, collectivity=sheet.publisher, user=by, title=sheet.title,
                 filename=checked.filename, sha256=stored.sha256)
    return model


def remove_model(model: SheetModel, *, by: User) -> None:
    sheet = model.sheet
    audit.record("desk.sheet_model_removed", target=sheet, collectivity=sheet.publisher, user=by, title=sheet.title,
                 filename=model.filename)
    store.discard(db.session, model.storage_key)
    db.session.delete(model)
    db.session.flush()


def read_model(model: SheetModel) -> bytes:
    return store.read(model.storage_key, model.sha256, model.size)


def _index_sheet(sheet: LegalSheet) -> None:
    body = text_of(sheet.body_html) + "\n" + sheet.legal_refs
    search.index("sheet", sheet.id, title=sheet.title, body=body, audience=sheet.audience,
                 publisher_id=sheet.publisher_id, published_at=dt_of(sheet.updated_on))


def dt_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


@dataclass(frozen=True)
class DiffLine:
    op: str  # "same", "added", "removed"
    text: str


def sheet_diff(older: SheetVersion, newer: SheetVersion) -> list[DiffLine]:
    """What changed between two versions of a fiche, line by line of their text (title and references included)."""
    def lines(v: SheetVersion) -> list[str]:
        return [v.title, ""] + text_of(v.body_html).splitlines() + [""] + v.legal_refs.splitlines()

    out = []
    for line in difflib.ndiff(lines(older), lines(newer)):
        code, text = line[:2], line[2:]
        if code == "? ":
            continue
        out.append(DiffLine({"+ ": "added", "- ": "removed"}.get(code, "same"), text))
    return out
