"""Real files for the library's tests: a PDF with a text layer, images, Word and LibreOffice documents, and the
bad ones (macros, a program, a file whose content is not what its name says)."""
from __future__ import annotations

import io
import zipfile


def pdf(text: str = "Délibération du conseil municipal") -> bytes:
    """A one-page PDF whose text layer holds ``text`` (WeasyPrint, UTF-8 text, accents included)."""
    from weasyprint import HTML

    return HTML(string=f"<html><body><p>{text}</p></body></html>").write_pdf()


def png(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def docx(text: str = "Modèle d'arrêté", *, with_macros: bool = False) -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    if not with_macros:
        return buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    entries["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return out.getvalue()


def docx_not_readable() -> bytes:
    """A zip that has what portal.uploads looks for in a .docx, but no document python-docx can read."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                          'package/2006/content-types"></Types>')
        z.writestr("word/document.xml", "<not-word/>")
    return out.getvalue()


def odt(text: str = "Modèle de délibération") -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text=text))
    buf = io.BytesIO()
    document.write(buf)
    return buf.getvalue()


EXE = b"MZ\x90\x00\x03" + b"\x00" * 200
