"""Fiches juridiques: written by partners or the department, versions kept with what changed (and the difference
shown), model documents checked by content, the audience matrix, publishers' HTML made inert everywhere."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from .files import docx, docx_not_readable, odt, pdf
from .test_audiences import EXPECTED, KINDS, LOGINS

ACTIVE = re.compile(r"<[^>]*(\son\w+\s*=|javascript:)", re.IGNORECASE)  # an event handler or a script URL in a tag
XSS = ['<script>alert("x")</script>', '<img src=x onerror=alert(1)>', '<a href="javascript:alert(1)">lien</a>',
       '<svg onload=alert(1)>', '<iframe src="https://evil.example"></iframe>', '"><script>alert(2)</script>']


def _form(**fields):
    base = {"theme": "etat_civil", "title": "Mariage : la publication des bans", "audience": "all",
            "body": "<p>Les bans sont publiés <strong>dix jours</strong> avant la célébration.</p>",
            "legal_refs": "Code civil, art. 63\nCode civil, art. 64"}
    base.update(fields)
    return base


def test_a_partner_publishes_then_updates_a_sheet_and_readers_see_what_changed(app, world, login_as, partners):
    from portal.audit import AuditEvent
    from portal.extensions import db

    amf = login_as("partner_amf")
    resp = amf.post("/s/desk/fiches/nouvelle", _form(), csrf_from="/s/desk/fiches/nouvelle")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    sheet_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    edit = f"/s/desk/fiches/{sheet_id}/modifier"
    refused = amf.post(edit, _form(body="<p>Dix jours francs.</p>"), csrf_from=edit)
    assert refused.status_code == 400 and "ce qui a changé" in refused.get_data(as_text=True)
    resp = amf.post(edit, _form(body="<p>Les bans sont publiés <strong>dix jours francs</strong> avant.</p>",
                                legal_refs="Code civil, art. 63", change_note="Précision : jours francs",
                                updated_on="2026-11-30"), csrf_from=edit)
    assert resp.status_code == 302

    mayor = login_as("mayor_troyes")
    page = mayor.get(f"/s/desk/fiches/{sheet_id}").get_data(as_text=True)
    assert "dix jours francs" in page and "Code civil, art. 63" in page and "Code civil, art. 64" not in page
    assert "30 novembre 2026" in page and "version 2" in page
    history = mayor.get(f"/s/desk/fiches/{sheet_id}/historique").get_data(as_text=True)
    assert "Précision : jours francs" in history
    assert "<del>Les bans sont publiés dix jours avant la célébration.</del>" in history
    assert "<ins>Les bans sont publiés dix jours francs avant.</ins>" in history
    assert "<del>Code civil, art. 64</del>" in history
    assert mayor.get(f"/s/desk/fiches/{sheet_id}/modifier").status_code == 403
    assert login_as("partner_cdg").get(f"/s/desk/fiches/{sheet_id}/modifier").status_code == 403  # another partner
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("desk.sheet%"))
                                          .order_by(AuditEvent.id)))
    assert actions == ["desk.sheet_published", "desk.sheet_edited"]


def test_model_documents_are_opened_and_macros_refused(app, world, login_as, partners, publish_sheet, desk_storage):
    sheet_id = publish_sheet("Arrêté de voirie", theme="police", publisher=partners.amf, author="partner_amf")
    amf = login_as("partner_amf")
    url, page = f"/s/desk/fiches/{sheet_id}/modeles", f"/s/desk/fiches/{sheet_id}"

    def attach(filename, data):
        return amf.post(url, {"file": (io.BytesIO(data), filename)}, csrf_from=page,
                        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)

    assert "Le document modèle est joint" in attach("arrete-voirie.docx", docx("Arrêté portant réglementation"))
    assert "Le document modèle est joint" in attach("arrete-voirie.odt", odt())
    assert "macros" in attach("piege.docx", docx(with_macros=True))
    assert "ne peut pas être ouvert" in attach("faux.docx", docx_not_readable())
    assert "ne correspond pas à son extension" in attach("faux.odt", pdf())
    assert "Ce type de fichier" in attach("note.pdf", pdf())
    reader = login_as("mayor_a")
    body = reader.get(page).get_data(as_text=True)
    assert "arrete-voirie.docx" in body and "arrete-voirie.odt" in body and "piege.docx" not in body
    from portal.extensions import db
    from services.desk.library_models import SheetModel

    with app.app_context():
        model_ids = {m.filename: m.id for m in db.session.scalars(select(SheetModel))}
    assert set(model_ids) == {"arrete-voirie.docx", "arrete-voirie.odt"}
    got = reader.get(f"/s/desk/fiches/{sheet_id}/modeles/{model_ids['arrete-voirie.docx']}")
    assert got.status_code == 200 and got.data.startswith(b"PK")
    assert reader.post(f"/s/desk/fiches/{sheet_id}/modeles/{model_ids['arrete-voirie.docx']}/supprimer",
                       csrf_from=page).status_code == 403


@pytest.fixture
def sheet_matrix(world, partners, publish_sheet, subscribe):
    subscribe("tenders", world.a)
    extra = {"epci_members": {"epci_id": world.epci}, "service": {"service_slug": "tenders"},
             "list": {"member_ids": (world.b, world.epci)}}
    return {kind: publish_sheet(f"Fiche-pour-{kind}-fin", kind, **extra.get(kind, {})) for kind in KINDS}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_each_viewer_reads_exactly_the_sheets_addressed_to_it(login_as, sheet_matrix, viewer):
    client = login_as(LOGINS[viewer])
    index = client.get("/s/desk/fiches").get_data(as_text=True)
    search = client.get("/s/desk/recherche?q=fiche").get_data(as_text=True)
    for kind, sheet_id in sheet_matrix.items():
        readable = kind in EXPECTED[viewer]
        for url in (f"/s/desk/fiches/{sheet_id}", f"/s/desk/fiches/{sheet_id}/historique"):
            assert client.get(url).status_code == (200 if readable else 404), (viewer, kind, url)
        assert (f"Fiche-pour-{kind}-fin" in index) == readable, (viewer, kind)
        assert (f"Fiche-pour-{kind}-fin" in search) == readable, (viewer, kind)


@pytest.mark.parametrize("payload", XSS)
def test_publishers_html_is_inert_on_the_page_the_history_and_search(world, login_as, partners, payload):
    amf = login_as("partner_amf")
    resp = amf.post("/s/desk/fiches/nouvelle",
                    _form(title=f"Fiche piégée {payload}", body=f"<p>Délibération {payload}</p>",
                          legal_refs=f"Code {payload}"), csrf_from="/s/desk/fiches/nouvelle")
    assert resp.status_code == 302
    sheet_id = int(resp.headers["Location"].rsplit("/", 1)[-1])
    edit = f"/s/desk/fiches/{sheet_id}/modifier"
    assert amf.post(edit, _form(title=f"Fiche piégée {payload}", body=f"<p>Délibérations {payload} 2</p>",
                                legal_refs="Code", change_note=f"note {payload}"), csrf_from=edit).status_code == 302
    reader = login_as("mayor_a")
    for url in (f"/s/desk/fiches/{sheet_id}", f"/s/desk/fiches/{sheet_id}/historique", "/s/desk/fiches",
                "/s/desk/recherche?q=deliberation"):
        body = reader.get(url).get_data(as_text=True)
        assert "Fiche piégée" in body, url
        for bad in ("<script>alert", "<svg", "<iframe", "<img src=x"):
            assert bad not in body, (url, bad)
        assert not ACTIVE.search(body), (url, ACTIVE.search(body))


def test_document_text_and_sheets_are_found_with_accents_and_plurals(world, login_as, partners, library_doc,
                                                                     publish_sheet):
    library_doc(world.a, "all", "Conseil du 3 mars", author="mayor_a",
                data=pdf("Le conseil adopte la délibération relative aux écoles."))
    library_doc(world.a, "own", "Conseil à huis clos", author="mayor_a",
                data=pdf("Délibération confidentielle du conseil."))
    publish_sheet("Les délibérations du conseil municipal", "communes",
                  body="<p>Une délibération est transmise au contrôle de légalité.</p>")
    publish_sheet("Fiche réservée aux EPCI", "epci", body="<p>Délibérations communautaires.</p>")
    page = login_as("mayor_troyes").get("/s/desk/recherche?q=deliberations ecole").get_data(as_text=True)
    assert "Conseil du 3 mars" in page and "<mark>délibération</mark>" in page and "<mark>écoles</mark>" in page
    assert "Conseil à huis clos" not in page
    page = login_as("mayor_troyes").get("/s/desk/recherche?q=DELIBERATIONS").get_data(as_text=True)
    assert "Les délibérations du conseil municipal" in page and "Fiche réservée aux EPCI" not in page
    assert "Conseil à huis clos" not in page
    assert "Conseil à huis clos" in login_as("mayor_a").get("/s/desk/recherche?q=délibérations").get_data(
        as_text=True)
    assert "Fiche réservée aux EPCI" in login_as("epci_user").get("/s/desk/recherche?q=délibération").get_data(
        as_text=True)
