"""The documents library (``/s/desk/documents``) and the fiches juridiques (``/s/desk/fiches``), on the desk's
blueprint. Every query is narrowed by the audience filter; these views never say who may read what."""
from __future__ import annotations

import io
import logging

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db
from portal.forms import ConfirmForm
from portal.registry import registry, requires
from portal.uploads import UploadRejected

from .. import library
from ..access import PUBLISH, READ
from ..library_access import (LIBRARY, document_or_404, editable_sheet_or_404, folder_or_404,
                              managed_document_or_404, managed_folder_or_404, may_edit_sheet, may_manage,
                              may_manage_library, model_or_404, sheet_or_404, version_or_404)
from ..library_forms import (ACCEPTED, CATEGORY_LABELS, READER_LABELS, THEME_LABELS, DocumentEditForm, DocumentForm,
                             FolderForm, ModelForm, SheetForm, VersionForm)
from ..library_models import LegalSheet, LibraryDocument, LibraryFolder, SheetVersion
from ..operations import DeskError
from .pages import bp

log = logging.getLogger(__name__)
RECENT = 30


def _accepted() -> str:
    return ACCEPTED % {"mb": library.max_upload() // (1024 * 1024)}


def _upload():
    """(bytes, filename) of the form's file, or (b"", "") when none was sent."""
    up = request.files.get("file")
    if up is None or not up.filename:
        return b"", ""
    return up.read(library.max_upload() + 1), up.filename


def _checked(allowed):
    data, filename = _upload()
    if not filename:
        raise DeskError(_("Choose a file."))
    try:
        return library.check_file(data, filename, allowed)
    except UploadRejected as exc:
        log.info("desk: upload refused: %s", exc.reason_en)
        raise DeskError(str(exc.message_fr)) from exc


def _send(data: bytes, mimetype: str, filename: str, *, inline: bool = False):
    resp = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=not inline, download_name=filename,
                     max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _stored_or_none(read):
    try:
        return read()
    except library.StorageError as exc:
        log.error("desk: stored file refused: %s", exc)
        return None


# Library ----------------------------------------------------------------------------------------------------------
@bp.get("/documents")
@requires(READ)
def library_index():
    own = []
    if g.collectivity is not None:
        own = db.session.scalars(select(LibraryFolder).where(LibraryFolder.publisher_id == g.collectivity.id,
                                                             LibraryFolder.parent_id.is_(None))
                                 .order_by(LibraryFolder.name)).all()
    # sub-folders are reached from their folder (read by as many as them or more)
    shared = db.session.scalars(select(LibraryFolder).where(LibraryFolder.publisher_id != g.collectivity.id,
                                                            LibraryFolder.parent_id.is_(None))
                                .order_by(LibraryFolder.name)).all() if g.collectivity is not None else []
    by_owner: dict = {}
    for folder in shared:
        by_owner.setdefault(folder.publisher, []).append(folder)
    counts = dict(db.session.execute(select(LibraryDocument.folder_id, func.count())
                                     .group_by(LibraryDocument.folder_id)).all())
    recent = db.session.scalars(select(LibraryDocument).order_by(LibraryDocument.updated_at.desc())
                                .limit(RECENT)).all()
    return render_template("desk/library/index.html", own=own, by_owner=sorted(by_owner.items(),
                           key=lambda kv: kv[0].name), counts=counts, recent=recent,
                           may_manage=may_manage_library(), readers=library.readers_of, labels=READER_LABELS,
                           categories=CATEGORY_LABELS)


def _folder_form(folder=None, parent=None) -> FolderForm:
    form = FolderForm(obj=folder) if folder is not None and request.method == "GET" else FolderForm()
    if folder is not None and request.method == "GET":
        form.readers.data = library.readers_of(folder)
    elif parent is not None and request.method == "GET":
        form.readers.data = library.readers_of(parent)  # inherited, may be narrowed
    if library.epci_of(g.collectivity) is None:
        form.readers.choices = [c for c in form.readers.choices if c[0] != library.MEMBERS]
    allowed = library.allowed_readers(parent if folder is None else folder.parent)
    form.readers.choices = [c for c in form.readers.choices if c[0] in allowed]
    return form


@bp.route("/documents/dossiers/nouveau", methods=["GET", "POST"])
@requires(LIBRARY)
def library_folder_new():
    parent_id = request.args.get("dossier", type=int)
    return _folder_page(None, managed_folder_or_404(parent_id) if parent_id else None)


@bp.route("/documents/dossiers/<int:folder_id>/modifier", methods=["GET", "POST"])
@requires(READ)
def library_folder_edit(folder_id: int):
    return _folder_page(managed_folder_or_404(folder_id))


def _folder_page(folder, parent=None):
    if g.collectivity is None:
        abort(403)
    form = _folder_form(folder, parent)
    refused = False
    if form.validate_on_submit():
        fields = dict(name=form.name.data, description=form.description.data or "", readers=form.readers.data,
                      by=current_user)
        try:
            saved = (library.create_folder(g.collectivity, parent=parent, **fields) if folder is None
                     else library.edit_folder(folder, **fields))
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            refused = True
        else:
            db.session.commit()
            flash(_("The folder is saved."), "success")
            return redirect(url_for("desk.library_folder", folder_id=saved.id))
    return render_template("desk/library/folder_form.html", form=form, folder=folder, parent=parent,
                           trail=library.ancestors(folder) if folder is not None else
                           ([*library.ancestors(parent), parent] if parent is not None else []),
                           epci=library.epci_of(g.collectivity)), (400 if form.errors or refused else 200)


@bp.get("/documents/dossiers/<int:folder_id>")
@requires(READ)
def library_folder(folder_id: int):
    folder = folder_or_404(folder_id)
    documents = db.session.scalars(select(LibraryDocument).where(LibraryDocument.folder_id == folder.id)
                                   .order_by(LibraryDocument.updated_at.desc())).all()
    return render_template("desk/library/folder.html", folder=folder, documents=documents,
                           trail=library.ancestors(folder), subfolders=library.subfolders(folder),
                           may_manage=may_manage(folder), readers=library.readers_of(folder), labels=READER_LABELS,
                           categories=CATEGORY_LABELS, form=DocumentForm(), confirm=ConfirmForm(),
                           accepted=_accepted())


@bp.post("/documents/dossiers/<int:folder_id>/supprimer")
@requires(READ)
def library_folder_delete(folder_id: int):
    folder = managed_folder_or_404(folder_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        library.delete_folder(folder, by=current_user)
    except DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("desk.library_folder", folder_id=folder_id))
    db.session.commit()
    flash(_("The folder is deleted."), "info")
    return redirect(url_for("desk.library_index"))


@bp.post("/documents/dossiers/<int:folder_id>/ajouter")
@requires(READ)
def library_upload(folder_id: int):
    folder = managed_folder_or_404(folder_id)
    form = DocumentForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return redirect(url_for("desk.library_folder", folder_id=folder.id)), 303
    try:
        document = library.add_document(folder, title=form.title.data, description=form.description.data or "",
                                        category=form.category.data, checked=_checked(library.LIBRARY_KINDS),
                                        by=current_user)
    except DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_template("desk/library/folder.html", folder=folder, documents=folder.documents,
                               may_manage=True, readers=library.readers_of(folder), labels=READER_LABELS,
                               categories=CATEGORY_LABELS, form=form, confirm=ConfirmForm(),
                               accepted=_accepted()), 400
    db.session.commit()
    flash(_("The document is added."), "success")
    return redirect(url_for("desk.library_document", document_id=document.id))


@bp.get("/documents/<int:document_id>")
@requires(READ)
def library_document(document_id: int):
    document = document_or_404(document_id)
    return render_template("desk/library/document.html", document=document, may_manage=may_manage(document),
                           readers=library.readers_of(document.folder), labels=READER_LABELS,
                           categories=CATEGORY_LABELS, form=VersionForm(), confirm=ConfirmForm(),
                           accepted=_accepted())


@bp.post("/documents/<int:document_id>/version")
@requires(READ)
def library_new_version(document_id: int):
    document = managed_document_or_404(document_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        version = library.add_version(document, checked=_checked(library.LIBRARY_KINDS), note=form.note.data or "",
                                      by=current_user)
    except DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_template("desk/library/document.html", document=document, may_manage=True,
                               readers=library.readers_of(document.folder), labels=READER_LABELS,
                               categories=CATEGORY_LABELS, form=form, confirm=ConfirmForm(),
                               accepted=_accepted()), 400
    db.session.commit()
    flash(_("Version %(n)d is uploaded; the former versions are kept.", n=version.number), "success")
    return redirect(url_for("desk.library_document", document_id=document.id))


@bp.route("/documents/<int:document_id>/modifier", methods=["GET", "POST"])
@requires(READ)
def library_document_edit(document_id: int):
    document = managed_document_or_404(document_id)
    form = DocumentEditForm(obj=document) if request.method == "GET" else DocumentEditForm()
    folders = db.session.scalars(select(LibraryFolder).where(LibraryFolder.publisher_id == document.publisher_id)
                                 .order_by(LibraryFolder.name)).all()
    form.folder.choices = [(f.id, f.name) for f in folders]
    if request.method == "GET":
        form.folder.data = document.folder_id
    refused = False
    if form.validate_on_submit():
        target = next((f for f in folders if f.id == form.folder.data), None)
        try:
            if target is None:
                raise DeskError(_("Choose one of your library's folders."))
            library.edit_document(document, title=form.title.data, description=form.description.data or "",
                                  category=form.category.data, folder=target, by=current_user)
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            refused = True
        else:
            db.session.commit()
            flash(_("The document is saved."), "success")
            return redirect(url_for("desk.library_document", document_id=document.id))
    return render_template("desk/library/document_form.html", form=form, document=document), \
        (400 if form.errors or refused else 200)


@bp.post("/documents/<int:document_id>/supprimer")
@requires(READ)
def library_document_delete(document_id: int):
    document = managed_document_or_404(document_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    folder_id = document.folder_id
    library.delete_document(document, by=current_user)
    db.session.commit()
    flash(_("The document and all its versions are deleted."), "info")
    return redirect(url_for("desk.library_folder", folder_id=folder_id))


@bp.get("/documents/<int:document_id>/v/<int:number>")
@requires(READ)
def library_download(document_id: int, number: int):
    version = version_or_404(document_or_404(document_id), number)
    data = _stored_or_none(lambda: library.read_file(version))
    if data is None:
        flash(_("This file cannot be read: it was changed or lost on the server. Please tell the department."), "error")
        return redirect(url_for("desk.library_document", document_id=document_id))
    return _send(data, version.mimetype, version.filename)


@bp.get("/documents/<int:document_id>/v/<int:number>/apercu")
@requires(READ)
def library_preview(document_id: int, number: int):
    version = version_or_404(document_or_404(document_id), number)
    data = _stored_or_none(lambda: library.read_preview(version))
    if data is None:
        abort(404)
    mimetype = version.mimetype if version.kind in ("jpeg", "png") else "image/png"
    return _send(data, mimetype, f"apercu-{version.number}.{'jpg' if version.kind == 'jpeg' else 'png'}",
                 inline=True)


# Fiches juridiques ------------------------------------------------------------------------------------------------
@bp.get("/fiches")
@requires(READ)
def sheets_index():
    theme = request.args.get("theme") or ""
    stmt = select(LegalSheet).order_by(LegalSheet.theme, LegalSheet.title)
    if theme in THEME_LABELS:
        stmt = stmt.where(LegalSheet.theme == theme)
    else:
        theme = ""
    sheets = db.session.scalars(stmt).all()
    by_theme: dict = {}
    for sheet in sheets:
        by_theme.setdefault(sheet.theme, []).append(sheet)
    return render_template("desk/sheets/index.html", by_theme=[(t, by_theme[t]) for t in THEME_LABELS if t in by_theme],
                           themes=THEME_LABELS, theme=theme, may_publish=PUBLISH in g.permissions)


@bp.get("/fiches/<int:sheet_id>")
@requires(READ)
def sheet_page(sheet_id: int):
    sheet = sheet_or_404(sheet_id)
    return render_template("desk/sheets/sheet.html", sheet=sheet, themes=THEME_LABELS, may_edit=may_edit_sheet(sheet),
                           form=ModelForm(), confirm=ConfirmForm(),
                           accepted=_("Word (.docx) or LibreOffice (.odt), without macros; at most %(mb)s MB.",
                                      mb=library.max_upload() // (1024 * 1024)))


def _services():
    return [s for s in registry.all() if not s.core and s.deployed]


@bp.route("/fiches/nouvelle", methods=["GET", "POST"])
@requires(PUBLISH)
def sheet_new():
    return _sheet_form_page(None)


@bp.route("/fiches/<int:sheet_id>/modifier", methods=["GET", "POST"])
@requires(READ)
def sheet_edit(sheet_id: int):
    return _sheet_form_page(editable_sheet_or_404(sheet_id))


def _sheet_form_page(sheet):
    form = SheetForm(obj=sheet) if sheet is not None and request.method == "GET" else SheetForm()
    form.fill_choices(_services())
    if sheet is not None and request.method == "GET":
        form.show_audience(sheet.audience)
        form.updated_on.data = None
    refused = False
    if form.validate_on_submit():
        fields = dict(audience=form.audience_choice(), theme=form.theme.data, title=form.title.data,
                      body=form.body.data or "", legal_refs=form.legal_refs.data or "",
                      updated_on=form.updated_on.data)
        try:
            if sheet is None:
                saved = library.publish_sheet(publisher=g.collectivity, author=current_user, **fields)
            else:
                saved = library.edit_sheet(sheet, author=current_user, change_note=form.change_note.data or "",
                                           **fields)
        except DeskError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            refused = True
        else:
            db.session.commit()
            flash(_("The fiche is published.") if sheet is None else _("The fiche is saved."), "success")
            return redirect(url_for("desk.sheet_page", sheet_id=saved.id))
    return render_template("desk/sheets/form.html", form=form, sheet=sheet), (400 if form.errors or refused else 200)


@bp.post("/fiches/<int:sheet_id>/retirer")
@requires(READ)
def sheet_withdraw(sheet_id: int):
    sheet = editable_sheet_or_404(sheet_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    library.withdraw_sheet(sheet, author=current_user)
    db.session.commit()
    flash(_("The fiche is withdrawn."), "info")
    return redirect(url_for("desk.sheets_index"))


@bp.get("/fiches/<int:sheet_id>/historique")
@requires(READ)
def sheet_history(sheet_id: int):
    sheet = sheet_or_404(sheet_id)
    versions = db.session.scalars(select(SheetVersion).where(SheetVersion.sheet_id == sheet.id)
                                  .order_by(SheetVersion.number.desc())).all()
    by_number = {v.number: v for v in versions}
    newer = by_number.get(request.args.get("a", type=int) or sheet.current_version) or versions[0]
    older = by_number.get(request.args.get("de", type=int) or newer.number - 1)
    diff = library.sheet_diff(older, newer) if older is not None and older.number != newer.number else None
    return render_template("desk/sheets/history.html", sheet=sheet, versions=versions, older=older, newer=newer,
                           diff=diff)


@bp.post("/fiches/<int:sheet_id>/modeles")
@requires(READ)
def sheet_model_add(sheet_id: int):
    sheet = editable_sheet_or_404(sheet_id)
    if not ModelForm().validate_on_submit():
        abort(400)
    try:
        library.attach_model(sheet, checked=_checked(library.MODEL_KINDS), by=current_user)
    except DeskError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("desk.sheet_page", sheet_id=sheet_id)), 303
    db.session.commit()
    flash(_("The model document is attached."), "success")
    return redirect(url_for("desk.sheet_page", sheet_id=sheet_id))


@bp.get("/fiches/<int:sheet_id>/modeles/<int:model_id>")
@requires(READ)
def sheet_model(sheet_id: int, model_id: int):
    model = model_or_404(sheet_or_404(sheet_id), model_id)
    data = _stored_or_none(lambda: library.read_model(model))
    if data is None:
        flash(_("This file cannot be read: it was changed or lost on the server. Please tell the department."), "error")
        return redirect(url_for("desk.sheet_page", sheet_id=sheet_id))
    return _send(data, model.mimetype, model.filename)


@bp.post("/fiches/<int:sheet_id>/modeles/<int:model_id>/supprimer")
@requires(READ)
def sheet_model_remove(sheet_id: int, model_id: int):
    sheet = editable_sheet_or_404(sheet_id)
    model = model_or_404(sheet, model_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    library.remove_model(model, by=current_user)
    db.session.commit()
    flash(_("The model document is removed."), "info")
    return redirect(url_for("desk.sheet_page", sheet_id=sheet_id))

