"""Files of acts on disk (a ``portal.filestore.FileStore``), not in the database: ``ACTES_STORAGE_DIR`` (default ``instance/actes/files``), each file at
``<act id>/<random key>`` so a name typed by a user never reaches the file system.

Written atomically (temporary file + rename) inside the transaction of the row that points at it: a rollback deletes
the new file, so there is never a row without its file. Every read checks the SHA-256 and size kept in the row, so a
file changed on disk is refused (:class:`StorageError`) rather than sent to the préfecture or published.
"""
from __future__ import annotations

from portal.filestore import FileStore, StorageError, Stored  # noqa: F401 - StorageError is part of this API

_store = FileStore("ACTES_STORAGE_DIR", "actes/files", "actes")
root, path_of, read = _store.root, _store.path_of, _store.read


def save_for(session, act_id: int, data: bytes) -> Stored:
    """Write ``data`` for an act; the file goes away again if the session's transaction rolls back."""
    return _store.save_for(session, str(act_id), data)
