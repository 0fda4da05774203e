"""What an uploaded file really is, checked once for every service before anything is stored.

    info = check_upload(data, "cahier.pdf", allowed={"pdf", "docx", "odt"}, max_bytes=10 * 1024 * 1024)
    info.kind, info.mimetype, info.size, info.sha256, info.warnings   # "pdf", "application/pdf", …, ("scan",)

:func:`check_upload` raises :class:`UploadRejected` with ``message_fr`` (shown to the user, names the rule broken)
and ``reason_en`` (for the log). A view does::

    try:
        info = check_upload(data, upload.filename, allowed={"pdf"}, max_bytes=limit)
    except UploadRejected as exc:
        log.info("upload refused: %s", exc.reason_en)
        flash(exc.message_fr, "error")

Kinds (``allowed`` holds kinds; the extension of ``filename`` must name one of them and agree with the content):

- ``pdf`` — parsed with pypdf: unreadable, encrypted, JavaScript, launch or submit actions refused (an
  ``/OpenAction`` that is an action, not a mere "open at page N" destination, is refused too); no text layer gives the
  warning ``"scan"``.
- ``docx``/``xlsx``/``pptx`` (``[Content_Types].xml`` and the main part) and ``odt``/``ods`` (``mimetype`` first):
  opened as zip archives with the bomb checks below; VBA or Basic macros refused.
- ``zip`` — the bomb checks; entries that are executables or escape the folder (``../``) refused.
- ``xml`` — well-formed, no DTD and no entities (lxml with entity resolution and network off).
- ``jpeg``/``png`` — signature, then Pillow's ``verify()`` (pixel-bomb limit included) when Pillow is installed,
  else the chunk / marker structure.
- ``csv``/``txt`` — text: no NUL byte, UTF-8 (a Windows-1252 file gives the warning ``"cp1252"``).

Whatever the extension, executables (``MZ``, ELF, Mach-O, ``#!`` scripts) are refused.
Zip bomb checks: at most :data:`MAX_ENTRIES` entries, the entries really inflated (declared sizes are not trusted)
up to :data:`MAX_UNCOMPRESSED` bytes in all, and a compression ratio of at most :data:`MAX_RATIO` for the archive.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024  # archives inflating to less than this are never bombs, whatever their ratio
TEXT_PAGES = 5  # pages read looking for a text layer

EXTENSIONS = {
    "pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "pptx": "pptx", "odt": "odt", "ods": "ods", "zip": "zip",
    "xml": "xml", "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "csv": "csv", "txt": "txt",
}
MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "zip": "application/zip", "xml": "application/xml", "jpeg": "image/jpeg", "png": "image/png",
    "csv": "text/csv", "txt": "text/plain",
}
OOXML_MAIN = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ZIP_MAGIC = b"PK\x03\x04"
PDF_ACTIONS = ("/JavaScript", "/Launch", "/SubmitForm", "/ImportData")
# the names above in one pass over the bytes (four ``in`` scans of a 20 MB file cost four times as much)
PDF_ACTION_BYTES = re.compile(rb"/(?:" + b"|".join(re.escape(n[1:].encode()) for n in PDF_ACTIONS) + rb")")


@dataclass(frozen=True)
class UploadInfo:
    kind: str
    mimetype: str
    size: int
    sha256: str
    warnings: tuple[str, ...] = ()


class UploadRejected(ValueError):
    """A refused upload: ``message_fr`` for the user (names the rule), ``reason_en`` for the log."""

    def __init__(self, message_fr, reason_en: str):
        super().__init__(reason_en)
        self.message_fr = message_fr
        self.reason_en = reason_en


def check_upload(data: bytes, filename: str, *, allowed: set[str], max_bytes: int,
                 sha256: str | None = None) -> UploadInfo:
    """Check ``data`` uploaded as ``filename`` against the rules of the module docstring. ``sha256``: the digest of
    ``data`` when the caller hashed it already (a deposit hashes each file while it arrives): not computed again."""
    size = len(data)
    if size == 0:
        raise UploadRejected(_l("The file is empty."), f"empty file {filename!r}")
    if size > max_bytes:
        raise UploadRejected(
            _l("The file is larger than the %(limit)s MB allowed.", limit=_megabytes(max_bytes)),
            f"{filename!r}: {size} bytes over the limit of {max_bytes}")
    if data.startswith(EXECUTABLE_MAGIC):
        raise UploadRejected(_l("Programs and scripts are not accepted."), f"{filename!r}: executable signature")
    extension = PurePosixPath(filename.replace("\\", "/")).suffix.lower().lstrip(".")
    kind = EXTENSIONS.get(extension)
    if kind is None or kind not in allowed:
        raise UploadRejected(
            _l("This type of file is not accepted (accepted: %(kinds)s).", kinds=", ".join(sorted(allowed))),
            f"{filename!r}: extension {extension!r} not among {sorted(allowed)}")
    warnings = CHECKS[kind](data, filename)
    return UploadInfo(kind, MIMETYPES[kind], size, sha256 or hashlib.sha256(data).hexdigest(), tuple(warnings))


def _megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:g}".replace(".", ",")


def _mismatch(filename: str, kind: str) -> UploadRejected:
    return UploadRejected(
        _l("The content of the file does not match its extension (.%(ext)s).",
           ext=PurePosixPath(filename).suffix.lower().lstrip(".")),
        f"{filename!r}: content is not {kind}")


# --- PDF ----------------------------------------------------------------------------------------------------------

def _check_pdf(data: bytes, filename: str) -> list[str]:
    if b"%PDF-" not in data[:1024]:
        raise _mismatch(filename, "pdf")
    from pypdf import PdfReader

    broken = UploadRejected(_l("The PDF file is damaged and cannot be read."), f"{filename!r}: unreadable PDF")
    try:
        # io.BufferedReader hides BytesIO.getbuffer(), which pypdf calls for the file's size and which copies the
        # whole file (a BytesIO shares the bytes it is made of until a view is asked): 20 MB copied for a number
        reader = PdfReader(io.BufferedReader(io.BytesIO(data)), strict=False)
        if reader.is_encrypted:
            raise UploadRejected(_l("Password-protected PDF files are not accepted."),
                                 f"{filename!r}: encrypted PDF")
        catalog = reader.trailer["/Root"].get_object()
        pages = list(reader.pages)
    except UploadRejected:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on a broken file
        raise broken from exc
    if not pages:
        raise broken
    if _pdf_has_active_content(data, catalog, pages):
        raise UploadRejected(_l("PDF files containing scripts or automatic actions are not accepted."),
                             f"{filename!r}: PDF with JavaScript or an automatic action")
    return [] if _pdf_has_text(pages) else ["scan"]


def _pdf_has_active_content(data: bytes, catalog, pages) -> bool:
    if PDF_ACTION_BYTES.search(data):  # uncompressed objects; long names, no false alarm
        return True
    open_action = catalog.get("/OpenAction")
    if open_action is not None and hasattr(open_action.get_object(), "keys"):
        return True  # an action dictionary; a destination array only says which page to show
    names = catalog.get("/Names")
    if names is not None and "/JavaScript" in names.get_object():
        return True
    if "/AA" in catalog:
        return True
    for page in pages:  # compressed object streams hide names from the byte scan above
        if "/AA" in page:
            return True
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None and action.get_object().get("/S") in PDF_ACTIONS:
                return True
    return False


def _pdf_has_text(pages) -> bool:
    for page in pages[:TEXT_PAGES]:
        try:
            if page.extract_text().strip():
                return True
        except Exception:  # a page whose text cannot be read has no usable text layer
            continue
    return False


# --- zip archives and office documents ----------------------------------------------------------------------------

def _open_zip(data: bytes, filename: str, kind: str) -> zipfile.ZipFile:
    if not data.startswith(ZIP_MAGIC):
        raise _mismatch(filename, kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UploadRejected(_l("The archive is damaged and cannot be opened."),
                             f"{filename!r}: bad zip ({exc})") from exc
    _check_bomb(archive, len(data), filename)
    return archive


def _check_bomb(archive: zipfile.ZipFile, compressed: int, filename: str) -> None:
    """Inflate every entry (declared sizes may lie) and stop as soon as a limit is passed."""
    entries = archive.infolist()
    too_big = UploadRejected(_l("The archive expands to too large a size (possible zip bomb)."),
                             f"{filename!r}: zip inflates beyond the limits")
    if len(entries) > MAX_ENTRIES:
        raise UploadRejected(_l("The archive holds too many files (at most %(n)s).", n=MAX_ENTRIES),
                             f"{filename!r}: {len(entries)} zip entries")
    limit = min(MAX_UNCOMPRESSED, max(RATIO_FLOOR, compressed * MAX_RATIO))
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise UploadRejected(_l("Password-protected archives are not accepted."),
                                 f"{filename!r}: encrypted zip entry {entry.filename!r}")
        name = entry.filename.replace("\\", "/")
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            raise UploadRejected(_l("The archive holds a file with a dangerous path."),
                                 f"{filename!r}: zip entry path {entry.filename!r}")
        try:
            with archive.open(entry) as stream:
                while chunk := stream.read(1024 * 1024):
                    total += len(chunk)
                    if total > limit:
                        raise too_big
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise UploadRejected(_l("The archive is damaged and cannot be opened."),
                                 f"{filename!r}: zip entry {entry.filename!r} unreadable ({exc})") from exc


def _check_zip(data: bytes, filename: str) -> list[str]:
    archive = _open_zip(data, filename, "zip")
    for entry in archive.infolist():
        if entry.is_dir():
            continue
        with archive.open(entry) as stream:
            head = stream.read(4)
        if head.startswith(EXECUTABLE_MAGIC):
            raise UploadRejected(_l("The archive holds a program or a script, which is not accepted."),
                                 f"{filename!r}: executable zip entry {entry.filename!r}")
    return []


def _check_ooxml(data: bytes, filename: str, kind: str) -> list[str]:
    archive = _open_zip(data, filename, kind)
    names = {name.lower() for name in archive.namelist()}
    if "[content_types].xml" not in names or OOXML_MAIN[kind] not in names:
        raise _mismatch(filename, kind)
    types = archive.read("[Content_Types].xml").lower()
    if any(name.endswith("vbaproject.bin") for name in names) or b"macroenabled" in types or b"vbaproject" in types:
        raise UploadRejected(_l("Documents containing macros are not accepted."), f"{filename!r}: VBA macros")
    return []


def _check_odf(data: bytes, filename: str, kind: str) -> list[str]:
    archive = _open_zip(data, filename, kind)
    expected = MIMETYPES[kind].encode()
    try:
        declared = archive.read("mimetype").strip()
    except KeyError:
        declared = b""
    if declared != expected or "content.xml" not in archive.namelist():
        raise _mismatch(filename, kind)
    if any(name.startswith(("Basic/", "Scripts/")) for name in archive.namelist()):
        raise UploadRejected(_l("Documents containing macros are not accepted."), f"{filename!r}: ODF macros")
    return []


# --- XML, images, text ----------------------------------------------------------------------------------------------

def _check_xml(data: bytes, filename: str) -> list[str]:
    from lxml import etree

    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise _mismatch(filename, "xml")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        raise UploadRejected(_l("The XML file is not well-formed."), f"{filename!r}: XML syntax ({exc})") from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or b"<!ENTITY" in data:
        raise UploadRejected(_l("XML files with a document type declaration (DTD) are not accepted."),
                             f"{filename!r}: XML with a DTD")
    return []


def _check_image(data: bytes, filename: str, kind: str) -> list[str]:
    magic = PNG_MAGIC if kind == "png" else JPEG_MAGIC
    if not data.startswith(magic):
        raise _mismatch(filename, kind)
    damaged = UploadRejected(_l("The image is damaged and cannot be read."), f"{filename!r}: broken {kind}")
    try:
        from PIL import Image
    except ImportError:
        if not _image_structure_ok(data, kind):
            raise damaged from None
        return []
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != kind.upper():
                raise _mismatch(filename, kind)
            image.verify()
    except UploadRejected:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, DecompressionBombError…
        raise damaged from exc
    return []


def _image_structure_ok(data: bytes, kind: str) -> bool:
    if kind == "jpeg":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    return data[12:16] == b"IHDR" and b"IEND" in data[-12:]


def _check_text(data: bytes, filename: str, kind: str) -> list[str]:
    if b"\x00" in data or data.startswith((PNG_MAGIC, JPEG_MAGIC, ZIP_MAGIC, b"%PDF-")):
        raise _mismatch(filename, kind)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise _mismatch(filename, kind) from exc
        return ["cp1252"]
    return []


CHECKS = {
    "pdf": _check_pdf,
    "docx": lambda d, f: _check_ooxml(d, f, "docx"),
    "xlsx": lambda d, f: _check_ooxml(d, f, "xlsx"),
    "pptx": lambda d, f: _check_ooxml(d, f, "pptx"),
    "odt": lambda d, f: _check_odf(d, f, "odt"),
    "ods": lambda d, f: _check_odf(d, f, "ods"),
    "zip": _check_zip,
    "xml": _check_xml,
    "jpeg": lambda d, f: _check_image(d, f, "jpeg"),
    "png": lambda d, f: _check_image(d, f, "png"),
    "csv": lambda d, f: _check_text(d, f, "csv"),
    "txt": lambda d, f: _check_text(d, f, "txt"),
}
