"""Text recognition of a scanned act: a real scan made in the test (a PDF with French text rasterised by pdftoppm
into an image-only PDF) is deposited with the warning « scan sans texte », made searchable in French as PDF/A by
ocrmypdf (Tesseract's French data) through the task handed over after the commit, and its words are found by
pdftotext; without Tesseract the page says so in French and the log in English."""
from __future__ import annotations

import html
import io
import logging
import subprocess

WORDS = "Le conseil municipal approuve le budget primitif de la commune et autorise le maire à signer la convention."


def _scan(tmp_path) -> bytes:
    """A one-page image-only PDF (what a scanner gives) of a French délibération."""
    from PIL import Image
    from weasyprint import HTML

    text = HTML(string=f"<html lang='fr'><body style='font: 16pt serif'><h1>Délibération n° 2026_014</h1>"
                       f"<p>{WORDS}</p></body></html>").write_pdf()
    subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", "-", str(tmp_path / "page")],
                   input=text, check=True)
    out = io.BytesIO()
    Image.open(tmp_path / "page.png").convert("L").save(out, "PDF", resolution=200.0)
    return out.getvalue()


def _pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def _files(app, act_id):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        act = db.session.get(Act, act_id)
        return {f.role: (f.id, list(f.warnings or []), f.filename) for f in act.files}


def test_a_scan_is_made_searchable_in_french_as_pdfa(app, actes_world, login_as, deposit, tmp_path):
    scan = _scan(tmp_path)
    assert _pdftotext(scan).strip() == ""  # an image, no text layer
    secretary = login_as("secretary_a")
    resp = deposit(secretary, act=scan, act_name="scan.pdf")
    assert resp.status_code == 302
    act_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = html.unescape(secretary.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert "scan sans texte" in page and "Rendre le scan cherchable (reconnaissance de texte)" in page
    assert "scan_without_text" in _files(app, act_id)["act"][1]

    resp = secretary.post(f"/s/actes/{act_id}/ocr", {}, csrf_from=f"/s/actes/{act_id}")
    assert resp.status_code == 302
    files = _files(app, act_id)
    assert files["scan"][2] == "scan.pdf" and files["act"][2] == "scan-texte.pdf" and files["act"][1] == []
    searchable = secretary.get(f"/s/actes/{act_id}/fichiers/{files['act'][0]}").get_data()
    words = " ".join(_pdftotext(searchable).split()).lower()
    for word in ("conseil municipal", "budget primitif", "commune", "convention"):
        assert word in words, words
    from pypdf import PdfReader

    xmp = PdfReader(io.BytesIO(searchable)).xmp_metadata
    assert xmp is not None and xmp.get_element("", "http://www.aiim.org/pdfa/ns/id/", "part")  # PDF/A
    page = html.unescape(secretary.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert "Rendre le scan cherchable" not in page and "remplacé par sa copie cherchable" in page
    # What is checked, signed and sent from now on is the searchable PDF.
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes import operations
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        assert operations.deposit_of(db.session.get(Act, act_id)).act.filename == "scan-texte.pdf"
    # Asked again: refused (nothing left to recognise).
    secretary.post(f"/s/actes/{act_id}/ocr", {}, csrf_from=f"/s/actes/{act_id}")
    assert "Cet acte contient déjà du texte." in html.unescape(secretary.get(f"/s/actes/{act_id}").get_data(
        as_text=True))


def test_without_tesseract_the_mairie_reads_why_in_french(app, actes_world, login_as, deposit, tmp_path,
                                                          monkeypatch, caplog):
    secretary = login_as("secretary_a")
    resp = deposit(secretary, act=_scan(tmp_path), act_name="scan.pdf")
    act_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no tesseract, no ghostscript on this "server"
    with caplog.at_level(logging.WARNING, logger="services.actes.ocr"):
        resp = secretary.post(f"/s/actes/{act_id}/ocr", {}, csrf_from=f"/s/actes/{act_id}")
    assert resp.status_code == 302
    monkeypatch.undo()
    page = html.unescape(secretary.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert "La reconnaissance de texte n'est pas installée sur le serveur" in page
    assert any("text recognition of act" in r.getMessage() and "missing_tools" in r.getMessage()
               for r in caplog.records)
    files = _files(app, act_id)
    assert "scan" not in files and files["act"][2] == "scan.pdf"  # the scan stays, nothing half-written
    assert "Rendre le scan cherchable" in page  # it can be asked again once the tools are installed
