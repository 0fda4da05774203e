"""Files of a service on disk, not in the database, written once for every service that keeps uploads.

A :class:`FileStore` has a folder (a setting such as ``TENDERS_STORAGE_DIR``, by default a folder of ``instance/``)
and stores each file under a key the service builds from its own ids plus a random part, so a name typed by a user
never reaches the file system. Files are written atomically (temporary file + rename) and follow the transaction of
the row that points at them: :meth:`FileStore.save_for` deletes the new file if that transaction rolls back, and
:meth:`FileStore.discard` deletes a replaced file only once it commits (``portal.outbox.after_commit`` /
``after_rollback``). Every read checks the SHA-256 and size kept in the row, so a file changed on disk is refused
(:class:`StorageError`) rather than served, sent or published.

    store = FileStore("TENDERS_STORAGE_DIR", "tenders/files", "tenders")
    stored = store.save_for(db.session, f"dce/{tender.id}", data)   # Stored(key, sha256, size) for the row
    data = store.read(stored.key, stored.sha256, stored.size)
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from . import outbox
from .settings import setting

log = logging.getLogger(__name__)


class StorageError(Exception):
    """A stored file is missing or does not match its checksum (English message, for the logs)."""


@dataclass(frozen=True)
class Stored:
    key: str
    sha256: str
    size: int


class FileStore:
    def __init__(self, setting_key: str, default_folder: str, label: str) -> None:
        self.setting_key = setting_key  # the declared setting naming the folder
        self.default_folder = default_folder  # below the instance folder when the setting is empty
        self.label = label  # in log lines

    def root(self) -> Path:
        configured = setting(self.setting_key)
        return Path(configured) if configured else Path(current_app.instance_path) / self.default_folder

    def path_of(self, key: str) -> Path:
        base = self.root().resolve()
        p = (base / key).resolve()
        if base not in p.parents:  # keys are ours, but never let one point outside the storage
            raise StorageError(f"storage key {key!r} leaves the storage folder")
        return p

    def save(self, prefix: str, data: bytes) -> Stored:
        """Write ``data`` under ``<prefix>/<random>`` (atomically) and return what the row must keep."""
        key = f"{prefix}/{secrets.token_hex(16)}"
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        return Stored(key, hashlib.sha256(data).hexdigest(), len(data))

    def save_for(self, session, prefix: str, data: bytes) -> Stored:
        """:meth:`save`, and the file goes away again if the session's transaction rolls back."""
        session.connection()  # a transaction is open: its commit or rollback decides for the file
        stored = self.save(prefix, data)
        path = self.path_of(stored.key)
        outbox.after_rollback(lambda: self._unlink(path), session=session)
        return stored

    def read(self, key: str, sha256: str, size: int) -> bytes:
        """The file's bytes, checked against the size and SHA-256 recorded when it was stored."""
        try:
            data = self.path_of(key).read_bytes()
        except OSError as exc:
            raise StorageError(f"stored file {key} cannot be read: {exc}") from exc
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            raise StorageError(f"stored file {key} does not match its checksum (size {len(data)}, expected {size})")
        return data

    def remove(self, key: str | None) -> None:
        """Delete a file after the row pointing at it is gone (a missing file is not an error)."""
        if not key:
            return
        try:
            self.path_of(key).unlink(missing_ok=True)
        except (OSError, StorageError) as exc:
            log.warning("%s: stored file %s could not be removed: %s", self.label, key, exc)

    def discard(self, session, key: str | None) -> None:
        """Delete the file of a row dropped or replaced in this transaction, once the transaction commits."""
        if key:
            path = self.path_of(key)
            outbox.after_commit(lambda: self._unlink(path), session=session)

    def _unlink(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s: stored file %s could not be removed: %s", self.label, path, exc)
