"""The stamp of an enforceable act: « Acte certifié exécutoire — reçu en préfecture le …, publié le … » and its
identifiant unique, written over the top of the first page of the PDF (a text overlay merged with pypdf; the act's
own content is untouched, so the stamped copy is still searchable).
"""
from __future__ import annotations

import datetime as dt
import io

from flask_babel import gettext as _
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")  # WinAnsiEncoding of the standard Helvetica font
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def stamp_lines(unique_id: str, received_on: dt.date, published_on: dt.date | None) -> list[str]:
    first = (_("Act certified enforceable — received at the préfecture on %(received)s, published on %(published)s",
               received=received_on.strftime("%d/%m/%Y"), published=published_on.strftime("%d/%m/%Y"))
             if published_on else
             _("Act certified enforceable — received at the préfecture on %(received)s",
               received=received_on.strftime("%d/%m/%Y")))
    return [first, _("Identifier: %(id)s", id=unique_id)]


def stamp_pdf(data: bytes, lines: list[str]) -> bytes:
    reader = PdfReader(io.BytesIO(data))
    writer = PdfWriter()
    writer.append(reader)
    first = writer.pages[0]
    width, height = float(first.mediabox.width), float(first.mediabox.height)
    ops = [b"q 1 1 1 rg", f"{24} {height - 40} {width - 48} 30 re f".encode(), b"0.1 0.2 0.5 rg", b"BT /ActesF1 8 Tf"]
    y = height - 22
    for line in lines:
        ops.append(f"1 0 0 1 30 {y:.1f} Tm ".encode() + _pdf_string(line) + b" Tj")
        y -= 11
    ops.append(b"ET Q")
    overlay = PdfWriter().add_blank_page(width, height)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica"),
                             NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    overlay[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/ActesF1"): font})})
    stream = DecodedStreamObject()
    stream.set_data(b"\n".join(ops))
    overlay.replace_contents(stream)
    first.merge_page(overlay)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
