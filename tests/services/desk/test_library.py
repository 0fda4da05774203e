"""The documents library: folders and who may read them (each kind × each viewer), versions kept and downloadable,
previews, uploads checked by content, every write audited with a French label."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from .files import EXE, docx, pdf, png


def _upload(client, url, filename, data, csrf_from, **fields):
    return client.post(url, {**fields, "file": (io.BytesIO(data), filename)}, csrf_from=csrf_from,
                       content_type="multipart/form-data")


def _new_folder(client, name, readers):
    resp = client.post("/s/desk/documents/dossiers/nouveau", {"name": name, "readers": readers},
                       csrf_from="/s/desk/documents/dossiers/nouveau")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_a_secretary_files_a_deliberation_and_uploads_a_second_version(app, world, login_as, desk_storage):
    from portal.audit import AuditEvent
    from portal.extensions import db
    from services.desk.library_models import DocumentVersion, LibraryDocument

    client = login_as("secretary_a")
    folder_id = _new_folder(client, "Délibérations 2026", "epci_members")
    first, second = pdf("Délibération n° 12 : tarifs de la cantine"), pdf("Délibération n° 12 rectifiée")
    resp = _upload(client, f"/s/desk/documents/dossiers/{folder_id}/ajouter", "Délibération 12.pdf", first,
                   f"/s/desk/documents/dossiers/{folder_id}", title="Tarifs de la cantine", category="deliberation")
    assert resp.status_code == 302
    doc_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    page = client.get(f"/s/desk/documents/{doc_id}").get_data(as_text=True)
    assert "Tarifs de la cantine" in page and "Délibération 12.pdf" in page
    preview = client.get(f"/s/desk/documents/{doc_id}/v/1/apercu")
    assert preview.status_code == 200 and preview.mimetype == "image/png" and preview.data.startswith(b"\x89PNG")

    resp = _upload(client, f"/s/desk/documents/{doc_id}/version", "Délibération 12 v2.pdf", second,
                   f"/s/desk/documents/{doc_id}", note="Erreur de tarif corrigée")
    assert resp.status_code == 302
    page = client.get(f"/s/desk/documents/{doc_id}").get_data(as_text=True)
    assert "Erreur de tarif corrigée" in page and "Délibération 12 v2.pdf" in page and "Délibération 12.pdf" in page
    # both versions stay downloadable, byte for byte, as attachments
    v1, v2 = client.get(f"/s/desk/documents/{doc_id}/v/1"), client.get(f"/s/desk/documents/{doc_id}/v/2")
    assert v1.data == first and v2.data == second
    assert v1.headers["Content-Disposition"].startswith("attachment") and v1.mimetype == "application/pdf"
    assert client.get(f"/s/desk/documents/{doc_id}/v/3").status_code == 404
    # Jaucourt is a member of the same EPCI: it reads both versions too
    assert login_as("mayor_b").get(f"/s/desk/documents/{doc_id}/v/1").data == first

    with app.app_context():
        document = db.session.get(LibraryDocument, doc_id)
        assert document.current_version == 2
        versions = db.session.scalars(select(DocumentVersion).order_by(DocumentVersion.number)).all()
        assert [v.number for v in versions] == [1, 2] and all(v.preview_key for v in versions)
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("desk.%"))
                                                        .order_by(AuditEvent.id))]
    assert actions == ["desk.folder_created", "desk.document_uploaded", "desk.document_versioned"]
    audit_page = login_as("mayor_a").get("/mairie/journal").get_data(as_text=True)
    for label in ("Documents\u00a0: dossier créé", "Documents\u00a0: document ajouté",
                  "Documents\u00a0: nouvelle version déposée"):
        assert label in audit_page


def test_deleting_a_document_removes_its_files_once_committed(app, world, login_as, desk_storage):
    from portal.audit import AuditEvent
    from portal.extensions import db

    client = login_as("secretary_a")
    folder_id = _new_folder(client, "Comptes rendus", "own")
    resp = _upload(client, f"/s/desk/documents/dossiers/{folder_id}/ajouter", "photo.png", png(),
                   f"/s/desk/documents/dossiers/{folder_id}", title="Photo du chantier", category="autre")
    doc_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    image = client.get(f"/s/desk/documents/{doc_id}/v/1/apercu")
    assert image.status_code == 200 and image.mimetype == "image/png"  # an image is its own preview
    assert len([p for p in desk_storage.rglob("*") if p.is_file()]) == 1
    resp = client.post(f"/s/desk/documents/{doc_id}/supprimer", csrf_from=f"/s/desk/documents/{doc_id}")
    assert resp.status_code == 302
    assert client.get(f"/s/desk/documents/{doc_id}").status_code == 404
    assert [p for p in desk_storage.rglob("*") if p.is_file()] == []
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "desk.document_deleted"))
        assert event is not None and event.details["title"] == "Photo du chantier"


@pytest.mark.parametrize("filename,data,message", [
    ("deliberation.pdf", png(), "ne correspond pas à son extension"),
    ("deliberation.pdf", EXE, "Les programmes et les scripts ne sont pas acceptés"),
    ("modele.docx", docx(with_macros=True), "macros"),
    ("programme.exe", b"hello", "Ce type de fichier n"),
    ("vide.pdf", b"", "Le fichier est vide"),
])
def test_uploads_are_checked_by_content_and_nothing_is_kept(app, world, login_as, desk_storage, filename, data,
                                                            message):
    from portal.extensions import db
    from services.desk.library_models import LibraryDocument

    client = login_as("secretary_a")
    folder_id = _new_folder(client, "Dossier", "own")
    resp = _upload(client, f"/s/desk/documents/dossiers/{folder_id}/ajouter", filename, data,
                   f"/s/desk/documents/dossiers/{folder_id}", title="Essai", category="autre")
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(LibraryDocument)) is None
    assert [p for p in desk_storage.rglob("*") if p.is_file()] == []


def test_a_file_changed_on_disk_is_refused_not_served(app, world, login_as, library_doc, desk_storage):
    from portal.extensions import db
    from services.desk.library_models import DocumentVersion

    _, doc_id = library_doc(world.a, "all", "Compte rendu du conseil", author="mayor_a")
    with app.app_context():
        key = db.session.scalar(select(DocumentVersion.storage_key))
    path = desk_storage / key
    path.write_bytes(path.read_bytes() + b"tampered")
    resp = login_as("mayor_b").get(f"/s/desk/documents/{doc_id}/v/1", follow_redirects=True)
    assert resp.status_code == 200 and "ne peut pas être lu" in resp.get_data(as_text=True)


# The audience matrix of the library: Ailleville's folders for itself, its EPCI's members and everyone; the EPCI's
# folder for its members. Viewer → titles it reads.
FOLDERS = {"own": "Doc-de-Ailleville-seule", "epci_members": "Doc-des-membres-de-la-CC", "all": "Doc-pour-tous"}
LIBRARY_EXPECTED = {
    "mayor_a": {"own", "epci_members", "all", "epci_folder"},  # the owner
    "mayor_b": {"epci_members", "all", "epci_folder"},  # Jaucourt, member of the same EPCI
    "epci_user": {"epci_members", "all", "epci_folder"},
    "mayor_troyes": {"all"},  # outside the EPCI
    "partner_cdg": {"all"},
    "dept_admin": {"own", "epci_members", "all", "epci_folder"},
}


@pytest.fixture
def library_matrix(world, partners, library_doc):
    ids = {readers: library_doc(world.a, readers, title, author="mayor_a") for readers, title in FOLDERS.items()}
    ids["epci_folder"] = library_doc(world.epci, "epci_members", "Doc-de-la-CC-pour-ses-membres", author="epci_user")
    return ids


def _title(key):
    return FOLDERS.get(key, "Doc-de-la-CC-pour-ses-membres")


@pytest.mark.parametrize("viewer", sorted(LIBRARY_EXPECTED))
def test_each_viewer_reads_exactly_the_folders_open_to_it(login_as, library_matrix, viewer):
    client = login_as(viewer)
    index = client.get("/s/desk/documents").get_data(as_text=True)
    for key, (folder_id, doc_id) in library_matrix.items():
        urls = (f"/s/desk/documents/dossiers/{folder_id}", f"/s/desk/documents/{doc_id}",
                f"/s/desk/documents/{doc_id}/v/1", f"/s/desk/documents/{doc_id}/v/1/apercu")
        expected = 200 if key in LIBRARY_EXPECTED[viewer] else 404
        for url in urls:
            assert client.get(url).status_code == expected, (viewer, key, url)
        assert (_title(key) in index) == (key in LIBRARY_EXPECTED[viewer]), (viewer, key)


def test_only_the_owner_changes_its_library(login_as, library_matrix):
    folder_id, doc_id = library_matrix["all"]
    for viewer in ("mayor_b", "epci_user", "partner_cdg", "elected_a"):
        client = login_as(viewer)
        assert client.get(f"/s/desk/documents/dossiers/{folder_id}/modifier").status_code == 403, viewer
        resp = _upload(client, f"/s/desk/documents/{doc_id}/version", "x.pdf", pdf(), f"/s/desk/documents/{doc_id}")
        assert resp.status_code == 403, viewer
        assert client.post(f"/s/desk/documents/{doc_id}/supprimer").status_code == 403, viewer


def test_opening_a_folder_to_everyone_opens_its_documents_and_their_search_entries(app, world, login_as,
                                                                                   library_matrix):
    folder_id, doc_id = library_matrix["own"]
    troyes = login_as("mayor_troyes")
    assert troyes.get(f"/s/desk/documents/{doc_id}").status_code == 404
    assert "Doc-de-Ailleville-seule" not in troyes.get("/s/desk/recherche?q=corps").get_data(as_text=True)
    owner = login_as("mayor_a")
    resp = owner.post(f"/s/desk/documents/dossiers/{folder_id}/modifier",
                      {"name": "Dossier ouvert", "readers": "all"},
                      csrf_from=f"/s/desk/documents/dossiers/{folder_id}/modifier")
    assert resp.status_code == 302
    assert troyes.get(f"/s/desk/documents/{doc_id}").status_code == 200
    assert "Doc-de-Ailleville-seule" in troyes.get("/s/desk/recherche?q=corps").get_data(as_text=True)


def test_a_partner_and_the_department_keep_libraries_too(login_as, world, partners):
    """The préfecture's circulars: a partner's own library, open to everyone (no EPCI to choose)."""
    client = login_as("partner_cdg")
    form = client.get("/s/desk/documents/dossiers/nouveau").get_data(as_text=True)
    assert 'value="epci_members"' not in form
    folder_id = _new_folder(client, "Circulaires", "all")
    resp = client.post("/s/desk/documents/dossiers/nouveau", {"name": "Autre", "readers": "epci_members"},
                       csrf_from="/s/desk/documents/dossiers/nouveau")
    assert resp.status_code == 400
    assert "Circulaires" in login_as("mayor_troyes").get(f"/s/desk/documents/dossiers/{folder_id}").get_data(
        as_text=True)


def test_sub_folders_inherit_or_narrow_their_folders_readers_with_breadcrumbs(app, world, login_as):
    owner = login_as("mayor_a")
    parent = _new_folder(owner, "Conseil municipal", "epci_members")
    new = f"/s/desk/documents/dossiers/nouveau?dossier={parent}"
    form = owner.get(new).get_data(as_text=True)
    radios = {re.search(r'value="([^"]+)"', tag).group(1): "checked" in tag
              for tag in re.findall(r'<input[^>]*name="readers"[^>]*>', form)}
    assert radios == {"own": False, "epci_members": True}  # inherited by default; « everyone » is wider: not offered
    # wider than its folder: refused, even when posted by hand
    refused = owner.post(new, {"name": "Ouvert à tous", "readers": "all"}, csrf_from=new)
    assert refused.status_code == 400
    created = owner.post(new, {"name": "Séances 2026", "readers": "epci_members"}, csrf_from=new)
    assert created.status_code == 302
    child = int(created.headers["Location"].rsplit("/", 1)[-1])
    narrowed = owner.post(f"/s/desk/documents/dossiers/nouveau?dossier={child}",
                          {"name": "Huis clos", "readers": "own"}, csrf_from=new)
    grandchild = int(narrowed.headers["Location"].rsplit("/", 1)[-1])
    page = owner.get(f"/s/desk/documents/dossiers/{grandchild}").get_data(as_text=True)
    crumbs = page.split("<h1>")[0]
    assert "Conseil municipal" in crumbs and "Séances 2026" in crumbs  # breadcrumbs: the folders above
    assert "Séances 2026" in owner.get(f"/s/desk/documents/dossiers/{parent}").get_data(as_text=True)
    index = owner.get("/s/desk/documents").get_data(as_text=True)
    assert "Conseil municipal" in index and "Séances 2026" not in index  # reached from its folder
    # Jaucourt (same EPCI) reads the folder and the sub-folder, not the narrowed one
    jaucourt = login_as("mayor_b")
    assert "Séances 2026" in jaucourt.get(f"/s/desk/documents/dossiers/{parent}").get_data(as_text=True)
    assert jaucourt.get(f"/s/desk/documents/dossiers/{child}").status_code == 200
    assert "Huis clos" not in jaucourt.get(f"/s/desk/documents/dossiers/{child}").get_data(as_text=True)
    assert jaucourt.get(f"/s/desk/documents/dossiers/{grandchild}").status_code == 404
    # only the owner adds sub-folders
    assert jaucourt.get(f"/s/desk/documents/dossiers/nouveau?dossier={parent}").status_code in (403, 404)
    # narrowing the folder narrows what is below it
    resp = owner.post(f"/s/desk/documents/dossiers/{parent}/modifier", {"name": "Conseil municipal", "readers": "own"},
                      csrf_from=f"/s/desk/documents/dossiers/{parent}/modifier")
    assert resp.status_code == 302
    assert jaucourt.get(f"/s/desk/documents/dossiers/{child}").status_code == 404
    # a folder with sub-folders is not deleted
    owner.post(f"/s/desk/documents/dossiers/{parent}/supprimer", {}, csrf_from=f"/s/desk/documents/dossiers/{parent}")
    assert owner.get(f"/s/desk/documents/dossiers/{parent}").status_code == 200
