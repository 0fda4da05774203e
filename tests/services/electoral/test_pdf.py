"""PDF documents: text extracted with pypdf and checked (order, headers page x/y, mentions). Fictitious people."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader


def pdf_pages(resp) -> list[str]:
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.status_code
    return [p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages]


def test_emargement_in_legal_order_with_headers(app, elec, world, login_as, add_voter):
    # names chosen to test the order: accents and case ignored, apostrophes and hyphens ignored
    for name, first in (("D'ARTOIS", "Luc"), ("DUBOIS", "Anne"), ("Dubois", "Aline"), ("ÉMERY", "Jean"),
                        ("DE LA TOUR", "Marc"), ("ZOLA", "Émile"), ("ABADIE", "Rose")):
        add_voter(world.insee_a, name, first, "1960-02-03", elec.bureau_a)
    for i in range(60):  # enough rows for several pages
        add_voter(world.insee_a, f"REMPLISSAGE{i:02d}", "Test", "1950-01-01", elec.bureau_a)
    add_voter(world.insee_a, "AUTREBUREAU", "Léon", "1950-01-01", elec.bureau_a2)
    c = login_as("secretary_a")
    resp = c.get(f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf?scrutin={elec.election_a}")
    pages = pdf_pages(resp)
    n = len(pages)
    assert n >= 2
    for i, text in enumerate(pages, start=1):
        assert f"Page {i}/{n}" in text
        assert "Ailleville" in text and "Mairie d'Ailleville" in text and "Municipales 2026 (fictif)" in text
    text = "\n".join(pages)
    assert "AUTREBUREAU" not in text
    order = [m for m in re.findall(r"\b(ABADIE|D'ARTOIS|DE LA TOUR|DUBOIS|Dubois|ÉMERY|ÉTIENNE|MARTIN|ZOLA)\b", text)]
    assert order == ["ABADIE", "D'ARTOIS", "DE LA TOUR", "Dubois", "DUBOIS", "ÉMERY", "ÉTIENNE", "MARTIN", "ZOLA"]
    assert "Signature" in text and "Nombre d'électeurs inscrits dans le bureau : 69" in text.replace("\xa0", " ")
    # the order number is printed on the same line as the name (each column is one text block: pypdf's layout mode
    # reads the page by position, as a reader does)
    lines = PdfReader(io.BytesIO(resp.data)).pages[0].extract_text(extraction_mode="layout").splitlines()
    assert any(re.match(r"\s*1\s+ABADIE\s+Rose\s+03/02/1960", line) for line in lines), lines
    assert any(re.match(r"\s*2\s+D'ARTOIS\s+Luc\s+03/02/1960", line) for line in lines), lines


def test_emargement_chunks_rendered_apart_are_merged_with_true_page_numbers(app, elec, world, login_as, add_voter,
                                                                          monkeypatch):
    """A long list is cut in chunks of pages rendered in parallel processes and merged: page x/y, order numbers and
    the legal order run across the chunks as in one document."""
    from services.electoral import pdf

    monkeypatch.setattr(pdf, "CHUNK_PAGES", 1)
    for i in range(60):
        add_voter(world.insee_a, f"NOM{i:02d}", "Test", "1950-01-01", elec.bureau_a)
    c = login_as("secretary_a")
    pages = pdf_pages(c.get(f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf"))
    n = len(pages)
    assert n >= 3
    for i, text in enumerate(pages, start=1):
        assert f"Page {i}/{n}" in text
    assert "Liste d'émargement" in pages[0] and "Liste d'émargement" not in pages[1]
    assert "Nombre d'électeurs inscrits dans le bureau : 62" in pages[-1].replace("\xa0", " ")
    text = "\n".join(pages)
    numbers = [int(m) for m in re.findall(r"^\s*(\d+) ", text, flags=re.M)]
    assert numbers == list(range(1, 63)), numbers
    names = re.findall(r"\b(NOM\d\d|MARTIN|ÉTIENNE)\b", text)
    assert names == ["ÉTIENNE", "MARTIN"] + [f"NOM{i:02d}" for i in range(60)]


def test_voter_cards_carry_every_mention_and_a_qr_code(app, elec, world, login_as):
    c = login_as("secretary_a")
    resp = c.get(f"/s/electoral/bureaux/{elec.bureau_a}/cartes.pdf")
    pages = pdf_pages(resp)
    text = "\n".join(pages)
    for mention in ("CARTE ÉLECTORALE", "MARTIN", "Élodie Anne", "04/05/1980", "Troyes (10)", "3 rue de la Mairie",
                    "123456789", "Mairie d'Ailleville", "1 rue de la Mairie, 10200 Ailleville", "ÉTIENNE"):
        assert mention in text, mention
    assert "Ailleville — Cartes électorales — Bureau de vote 1" in text
    reader = PdfReader(io.BytesIO(resp.data))
    # the QR code is a vector drawing (SVG): its path operators are in the page content stream
    assert reader.pages[0].get_contents().get_data().count(b" re") + reader.pages[0].get_contents().get_data().count(b" l\n") > 50


def test_general_list_statistics_and_commission_table(app, elec, world, login_as):
    c = login_as("mayor_a")
    text = "\n".join(pdf_pages(c.get("/s/electoral/liste-generale.pdf")))
    assert "Liste électorale d'Ailleville" in text and "MARTIN" in text and "Total : 2 électeur(s)" in text.replace("\xa0", " ")
    text = " ".join("\n".join(pdf_pages(c.get("/s/electoral/statistiques.pdf"))).split())
    assert "Statistiques" in text and "1 — Mairie d'Ailleville 2 2 0 0 1 1" in text
    assert "Ailleville — Statistiques" in text
    page = c.get("/s/electoral/commission?du=01/01/2020&au=31/01/2020").get_data(as_text=True)
    assert "Inscription : 2" in page
    text = "\n".join(pdf_pages(c.get("/s/electoral/commission?du=01/01/2020&au=31/01/2020&format=pdf")))
    assert "commission de contrôle" in text and "Inscription : 2" in text and "MARTIN" in text
    body = c.get("/s/electoral/commission?du=31/02/2020&au=31/01/2020").get_data(as_text=True)
    assert "Saisissez une date réelle" in body


def test_printing_is_audited(app, elec, world, login_as):
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import AuditEvent

    c = login_as("secretary_a")
    c.get(f"/s/electoral/bureaux/{elec.bureau_a}/emargement.pdf")
    c.get(f"/s/electoral/bureaux/{elec.bureau_a}/cartes.pdf")
    c.get("/s/electoral/export.csv")
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"electoral.emargement_printed", "electoral.cards_printed", "electoral.roll_exported"} <= actions


def test_all_emargement_lists_in_one_zip_rendered_in_parallel(app, elec, world, login_as, add_voter):
    import zipfile

    add_voter(world.insee_a, "SECONDBUREAU", "Léa", "1990-01-01", elec.bureau_a2)
    c = login_as("secretary_a")
    resp = c.get(f"/s/electoral/emargement.zip?scrutin={elec.election_a}")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    assert archive.namelist() == ["emargement-bureau-1.pdf", "emargement-bureau-2.pdf"]
    first = "".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read("emargement-bureau-1.pdf"))).pages)
    second = "".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read("emargement-bureau-2.pdf"))).pages)
    assert "MARTIN" in first and "SECONDBUREAU" not in first and "Page 1/1" in first
    assert "SECONDBUREAU" in second and "Salle des fêtes" in second and "Municipales 2026 (fictif)" in second


def test_general_list_at_a_past_date_is_rebuilt_from_the_history(app, elec, world, login_as):
    c = login_as("secretary_a")
    page = f"/s/electoral/electeurs/{elec.voter_a2}"
    assert c.post(f"{page}/radier", {"reason": "death", "effective_on": "01/02/2025"}, csrf_from=page).status_code == 302
    before = " ".join(" ".join(pdf_pages(c.get("/s/electoral/liste-generale.pdf?au=31/01/2025"))).split())
    after = " ".join(" ".join(pdf_pages(c.get("/s/electoral/liste-generale.pdf?au=01/02/2025"))).split())
    today = " ".join(" ".join(pdf_pages(c.get("/s/electoral/liste-generale.pdf"))).split())
    assert "ÉTIENNE" in before and "Total : 2 électeur(s)" in before and "reconstituée" in before
    assert "ÉTIENNE" not in after and "Total : 1 électeur(s)" in after
    assert "ÉTIENNE" not in today and "reconstituée" not in today
    assert "ÉTIENNE" not in " ".join(pdf_pages(c.get("/s/electoral/liste-generale.pdf?au=01/01/2019")))
    resp = c.get("/s/electoral/liste-generale.pdf?au=31/02/2020")
    assert resp.status_code == 302


def _render_two_in_a_daemon(queue):
    from services.electoral import pdf

    try:
        parts = pdf.html_to_pdf_many(["<p>Un</p>", "<p>Deux</p>"], progress=lambda d, t: queue.put(("progress", d, t)))
        queue.put(("done", [p[:5] for p in parts]))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        queue.put(("error", repr(exc)))


def test_documents_render_inside_a_daemonic_process_like_a_celery_prefork_child():
    """A Celery prefork child is daemonic and may not start the render pool: the documents are then rendered one
    after the other, with their progress, instead of failing the print job."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_render_two_in_a_daemon, args=(queue,), daemon=True)
    child.start()
    messages = [queue.get(timeout=120) for _ in range(3)]
    child.join(30)
    assert messages == [("progress", 1, 2), ("progress", 2, 2), ("done", [b"%PDF-", b"%PDF-"])], messages
