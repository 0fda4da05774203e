"""Files of the tenders service on disk through ``portal.filestore`` (the buyer's attachments and the DCE zip built
at publication), not in the database.

- Where: ``TENDERS_STORAGE_DIR`` (default ``instance/tenders/files``); a file is ``<kind>/<tender id>/<random key>``,
  so two buyers never share a file and a name typed by a user never reaches the file system.
- Written atomically (temporary file + rename) before the row that points at it is committed; a failed transaction
  leaves at worst an orphan file, never a row without its file. Removed after the commit that drops the row.
- Each row keeps the file's SHA-256 and size; every read checks both, so a file changed or truncated on disk is
  refused (logged in English, French message to the person) rather than served.
- What may be uploaded: a list of types, each checked by content (:func:`check_attachment`: the portal's upload
  checks, or the first bytes for the formats they do not open),
  at most ``TENDERS_MAX_ATTACHMENT_MB`` per file (default 10) and ``TENDERS_MAX_DCE_MB`` for all the attachments of
  one consultation (default 100).
"""
from __future__ import annotations

import io
import logging
import os
import secrets

from flask_babel import lazy_gettext as _l

from portal import outbox, uploads
from portal.filestore import FileStore, StorageError, Stored  # noqa: F401 - StorageError is part of this API
from portal.settings import setting
from portal.uploads import UploadRejected

log = logging.getLogger(__name__)

# extension → (content type served, check of the first bytes)
ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end of the sample is fine
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    return True


def _dxf(head: bytes) -> bool:
    start = head.lstrip()[:16].upper()
    return _text(head) and (start.startswith(b"0") or start.startswith(b"999"))


TYPES = {
    "pdf": ("application/pdf", lambda h: h.startswith(b"%PDF-")),
    "doc": ("application/msword", lambda h: h.startswith(OLE)),
    "xls": ("application/vnd.ms-excel", lambda h: h.startswith(OLE)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", lambda h: h.startswith(ZIP)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", lambda h: h.startswith(ZIP)),
    "odt": ("application/vnd.oasis.opendocument.text", lambda h: h.startswith(ZIP)),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", lambda h: h.startswith(ZIP)),
    "zip": ("application/zip", lambda h: h.startswith(ZIP)),
    "jpg": ("image/jpeg", lambda h: h.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda h: h.startswith(b"\xff\xd8\xff")),
    "png": ("image/png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    "dwg": ("image/vnd.dwg", lambda h: h.startswith(b"AC10")),
    "dxf": ("image/vnd.dxf", _dxf),
    "txt": ("text/plain; charset=utf-8", _text),
}


_store = FileStore("TENDERS_STORAGE_DIR", "tenders/files", "tenders")
root, path_of, read, remove, discard = _store.root, _store.path_of, _store.read, _store.remove, _store.discard


def _mb(name: str, default: int) -> int:
    try:
        return int(setting(name) or default) * 1024 * 1024
    except (TypeError, ValueError):
        log.warning("tenders: %s is not a whole number of MB; %d MB used", name, default)
        return default * 1024 * 1024


def max_attachment() -> int:
    return _mb("TENDERS_MAX_ATTACHMENT_MB", 10)


def max_total() -> int:
    return _mb("TENDERS_MAX_DCE_MB", 100)


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""


def content_type_ok(ext: str, head: bytes) -> bool:
    return ext in TYPES and TYPES[ext][1](head)


def check_attachment(data: bytes, filename: str, sha256: str | None = None) -> None:
    """Refuse (``UploadRejected``, French message and English reason) a file that is not what its extension says.

    PDF, Office/OpenDocument files, zips, images and text go through ``portal.uploads.check_upload`` (PDF parsed,
    archives opened with the zip-bomb checks, macros and programs refused); the formats it does not open (.doc,
    .xls, .dwg, .dxf) are checked on their first bytes, and never pass when they start like a program.
    """
    ext = extension(filename)
    if ext in uploads.EXTENSIONS:
        uploads.check_upload(data, filename, allowed={uploads.EXTENSIONS[ext]}, max_bytes=max_attachment(),
                             sha256=sha256)
        return
    if data.startswith(uploads.EXECUTABLE_MAGIC) or not content_type_ok(ext, data[:4096]):
        raise UploadRejected(_l("The content of the file does not match its extension (.%(ext)s).", ext=ext),
                             f"{filename!r}: content is not .{ext}")


def mimetype(ext: str) -> str:
    return TYPES.get(ext, ("application/octet-stream",))[0]


def save(kind: str, tender_id: int, data: bytes) -> Stored:
    """Write ``data`` under a new key of the tender (atomically) and return what the row must keep."""
    return _store.save(f"{kind}/{tender_id}", data)


def save_for(session, kind: str, tender_id: int, data: bytes) -> Stored:
    """:func:`save`, deleted again if the session's transaction rolls back."""
    return _store.save_for(session, f"{kind}/{tender_id}", data)


def replace_dce(session, t, data: bytes) -> None:
    """Store a new DCE zip for the tender; the former file goes when the transaction commits."""
    if t.id is None:
        session.flush()
    stored = save_for(session, "dce", t.id, data)
    discard(session, t.dce_key)
    t.dce_key, t.dce_sha256, t.dce_size = stored.key, stored.sha256, stored.size


class SealedUpload:
    """A bid file written to the storage while it arrives (the deposit streams): every chunk of the request body
    given to :meth:`write` is sealed at once (:class:`sealing.SealingWriter`: SHA-256 and AES-256-GCM in one pass)
    straight into a ``.part`` file beside its final place; the plaintext itself is kept in memory only, up to the
    size limit, for the content check after the last byte (PDF parsed, Office files opened) — never on disk.

    :meth:`finish` closes the seal, fsyncs once and renames the file into place (deleted again if the transaction
    rolls back); :meth:`discard` removes whatever was written."""

    def __init__(self, tender_id: int, public_pem: bytes, filename: str, limit: int | None = None) -> None:
        from . import sealing

        self.filename = filename or ""
        self.limit = max_attachment() if limit is None else limit
        self.key = f"bids/{tender_id}/{secrets.token_hex(16)}"
        self.path = path_of(self.key)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self._file = open(self.tmp, "wb")  # noqa: SIM115 - closed by finish() or discard()
        self.sealer = sealing.SealingWriter(public_pem, tender_id, self._file.write)
        self._plain = io.BytesIO()  # the plaintext as it arrived (one copy, grown in place), for the content check
        self.too_large = False
        self.finished = False

    def write(self, data) -> int:
        """Seal ``data`` (best given by the MB: the per-call cost of hashing and encrypting small pieces adds up)
        and keep it for the content check. Past the size limit nothing more is kept or sealed, but the caller goes
        on reading: the request must be consumed before the refusal is answered."""
        n = len(data)
        if self.too_large:
            return n
        if self.sealer.size + n > self.limit:
            self.too_large, self._plain = True, io.BytesIO()
            return n
        self.sealer.write(data)
        self._plain.write(data)  # a copy: ``data`` may be a view of the reader's buffer, reused for the next bytes
        return n

    @property
    def plain(self) -> bytes:
        """The plaintext received (empty once finished, discarded or over the limit), for the content check: the
        buffer's own bytes, not a copy of them."""
        return self._plain.getvalue()

    def plain_sha256(self) -> str:
        """The SHA-256 (hex) of the plaintext received so far — hashed while it was sealed, not hashed again."""
        return self.sealer.plain_sha256()

    @property
    def size(self) -> int:
        return self.sealer.size

    def finish(self) -> Stored:
        """Seal, fsync, rename into place. → the sealed file's row data (key, SHA-256 and size of the sealed
        bytes); ``self.sealer.sha256`` is the plaintext's. Then :meth:`follow` the transaction of its row."""
        self.sealer.finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        self.finished = True
        self._plain = io.BytesIO()
        return Stored(self.key, self.sealer.sealed_sha256, self.sealer.sealed_size)

    def follow(self, session) -> None:
        """Delete the file again if the transaction now open rolls back as a whole. Called once the deposit's row
        has its number: on SQLite a lost race for the number may end the transaction it began in, and the files,
        already in place, must outlive that."""
        session.connection()
        path = self.path
        outbox.after_rollback(lambda: path.unlink(missing_ok=True), session=session)

    def discard(self) -> None:
        self._plain = io.BytesIO()
        try:
            if not self._file.closed:
                self._file.close()
            self.tmp.unlink(missing_ok=True)
            if self.finished:  # put in place, but its deposit was refused after all
                self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("tenders: partial upload %s could not be removed: %s", self.tmp, exc)
