"""portal.uploads.check_upload on real files made here: office documents, PDFs, archives, images, XML, text."""
from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from portal.uploads import MAX_UNCOMPRESSED, UploadRejected, check_upload

MB = 1024 * 1024
ALL = {"pdf", "docx", "xlsx", "pptx", "odt", "ods", "zip", "xml", "jpeg", "png", "csv", "txt"}


def _zip(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        if stored_first:
            z.writestr(stored_first, entries.pop(stored_first), compress_type=zipfile.ZIP_STORED)
        for name, content in entries.items():
            z.writestr(name, content)
    return buf.getvalue()


def _docx(text: str = "Cahier des clauses", *, with_macros: bool = False) -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    if not with_macros:
        return buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    entries["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512  # an OLE file, as Word writes
    return _zip(entries)


def _odt() -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text="Règlement de la consultation"))
    buf = io.BytesIO()
    document.write(buf)
    return buf.getvalue()


def _pdf(text: str | None = "Délibération du conseil municipal") -> bytes:
    from weasyprint import HTML

    body = f"<p>{text}</p>" if text else '<div style="width:5cm;height:5cm;background:#333"></div>'
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def _pdf_via_pypdf(source: bytes, change) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _rejected(data: bytes, filename: str, **kwargs) -> UploadRejected:
    kwargs.setdefault("allowed", ALL)
    kwargs.setdefault("max_bytes", 50 * MB)
    with pytest.raises(UploadRejected) as caught:
        check_upload(data, filename, **kwargs)
    assert str(caught.value.message_fr) and caught.value.reason_en
    return caught.value


def test_a_docx_an_odt_and_a_pdf_pass_with_their_kind_mimetype_and_hash(app):
    docx, odt, pdf = _docx(), _odt(), _pdf()
    info = check_upload(docx, "CCAP.docx", allowed={"docx", "odt", "pdf"}, max_bytes=10 * MB)
    assert (info.kind, info.size, info.sha256, info.warnings) == (
        "docx", len(docx), hashlib.sha256(docx).hexdigest(), ())
    assert info.mimetype.endswith("wordprocessingml.document")
    assert check_upload(odt, "RC.odt", allowed={"odt"}, max_bytes=10 * MB).kind == "odt"
    assert check_upload(pdf, "deliberation.PDF", allowed={"pdf"}, max_bytes=10 * MB).warnings == ()


def test_a_pdf_without_a_text_layer_passes_with_the_scan_warning(app):
    assert check_upload(_pdf(None), "scan.pdf", allowed={"pdf"}, max_bytes=10 * MB).warnings == ("scan",)


def test_an_encrypted_pdf_is_refused(app):
    encrypted = _pdf_via_pypdf(_pdf(), lambda w: w.encrypt("secret"))
    assert "encrypted" in _rejected(encrypted, "acte.pdf").reason_en


def test_a_pdf_with_javascript_or_an_open_action_is_refused(app):
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    def document_javascript(writer):  # a /Names /JavaScript tree, as Acrobat writes document-level scripts
        script = writer._add_object(DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                                      NameObject("/JS"): TextStringObject("app.alert('x');")}))
        names = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("init"), script])})
        writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): names})

    with_js = _pdf_via_pypdf(_pdf(), document_javascript)
    assert "JavaScript" in _rejected(with_js, "acte.pdf").reason_en

    def open_action(writer):

        writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject("/URI"), NameObject("/URI"): TextStringObject("https://example.org/")})

    assert "automatic action" in _rejected(_pdf_via_pypdf(_pdf(), open_action), "acte.pdf").reason_en


def test_a_broken_pdf_and_a_pdf_named_docx_are_refused(app):
    pdf = _pdf()
    assert "unreadable" in _rejected(pdf[:200], "acte.pdf").reason_en
    assert "not docx" in _rejected(pdf, "acte.docx").reason_en


def test_a_docx_with_a_vba_project_is_refused(app):
    assert "macros" in _rejected(_docx(with_macros=True), "CCAP.docx").reason_en


def test_a_zip_bomb_of_a_few_kilobytes_is_refused_without_trusting_declared_sizes(app):
    bomb = _zip({"zeros.txt": b"\x00" * (MAX_UNCOMPRESSED // 8)})
    assert len(bomb) < 1 * MB
    assert "inflates" in _rejected(bomb, "dce.zip").reason_en
    small_ratio_bomb = _zip({f"part{i}.txt": b"A" * (5 * MB) for i in range(3)})  # 15 MB out of ~45 KB
    assert len(small_ratio_bomb) < 100 * 1024
    assert "inflates" in _rejected(small_ratio_bomb, "dce.zip").reason_en


def test_an_office_document_that_is_a_zip_bomb_is_refused(app):
    with zipfile.ZipFile(io.BytesIO(_docx())) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    entries["word/media/filler.xml"] = b" " * (64 * MB)
    assert "inflates" in _rejected(_zip(entries), "CCAP.docx").reason_en


def test_an_archive_holding_a_program_or_escaping_its_folder_is_refused(app):
    assert "executable" in _rejected(_zip({"setup.exe": b"MZ\x90\x00" + b"\x00" * 60}), "dce.zip").reason_en
    assert "path" in _rejected(_zip({"../../etc/cron.d/x": b"* * * * *"}), "dce.zip").reason_en
    assert check_upload(_zip({"lisezmoi.txt": b"Bonjour"}), "dce.zip", allowed={"zip"}, max_bytes=MB).kind == "zip"


def test_executables_are_refused_whatever_their_name(app):
    for data in (b"MZ\x90\x00\x03" + b"\x00" * 100, b"\x7fELF\x02\x01\x01" + b"\x00" * 100, b"#!/bin/sh\nrm -rf /\n"):
        assert "executable" in _rejected(data, "liste.csv").reason_en


def test_the_extension_must_be_allowed_and_the_size_within_the_limit(app):
    assert "not among" in _rejected(b"a;b\n", "liste.csv", allowed={"pdf"}).reason_en
    assert "not among" in _rejected(b"a;b\n", "liste.exe").reason_en
    assert "over the limit" in _rejected(b"x" * 2048, "notes.txt", max_bytes=1024).reason_en
    assert "empty" in _rejected(b"", "notes.txt").reason_en


def test_xml_must_be_well_formed_and_free_of_entities(app):
    assert check_upload(b"<?xml version='1.0'?><acte><objet>Voirie</objet></acte>", "acte.xml",
                        allowed={"xml"}, max_bytes=MB).kind == "xml"
    billion_laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                      b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>')
    assert "DTD" in _rejected(billion_laughs, "acte.xml").reason_en
    external = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
    assert "DTD" in _rejected(external, "acte.xml").reason_en
    assert "syntax" in _rejected(b"<acte><objet></acte>", "acte.xml").reason_en


def test_images_are_verified_and_must_match_their_extension(app):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 10), "navy").save(buf, "PNG")
    png = buf.getvalue()
    assert check_upload(png, "logo.png", allowed={"png", "jpeg"}, max_bytes=MB).mimetype == "image/png"
    assert "not jpeg" in _rejected(png, "logo.jpg").reason_en
    assert "broken png" in _rejected(png[:40], "logo.png").reason_en
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), "navy").save(buf, "JPEG")
    assert check_upload(buf.getvalue(), "photo.jpeg", allowed={"jpeg"}, max_bytes=MB).kind == "jpeg"


def test_text_files_are_utf8_or_windows_1252_without_nul_bytes(app):
    assert check_upload("nom;prénom\n".encode(), "liste.csv", allowed={"csv"}, max_bytes=MB).warnings == ()
    assert check_upload("nom;prénom\n".encode("cp1252"), "liste.csv", allowed={"csv"},
                        max_bytes=MB).warnings == ("cp1252",)
    assert "not csv" in _rejected(b"a;b\x00c\n", "liste.csv").reason_en


def test_the_user_message_is_french_and_names_the_rule(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        message = str(_rejected(_docx(with_macros=True), "CCAP.docx").message_fr)
    assert message == "Les documents contenant des macros ne sont pas acceptés."
