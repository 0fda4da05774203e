"""Files of acts on disk, not in the database: ``ACTES_STORAGE_DIR`` (default ``instance/actes/files``), each file at
``<act id>/<random key>`` so a name typed by a user never reaches the file system.

Written atomically (temporary file + rename) inside the transaction of the row that points at it: a rollback deletes
the new file, so there is never a row without its file. Every read checks the SHA-256 and size kept in the row, so a
file changed on disk is refused (:class:`StorageError`) rather than sent to the préfecture or published.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.settings import setting

log = logging.getLogger(__name__)
_CREATED = "actes_storage_created"


class StorageError(Exception):
    """A stored file is missing or does not match its checksum (English, for the logs)."""


@dataclass(frozen=True)
class Stored:
    key: str
    sha256: str
    size: int


def root() -> Path:
    configured = setting("ACTES_STORAGE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "actes" / "files"


def path_of(key: str) -> Path:
    base = root().resolve()
    p = (base / key).resolve()
    if base not in p.parents:
        raise StorageError(f"storage key {key!r} leaves the storage folder")
    return p


def save_for(session: Session, act_id: int, data: bytes) -> Stored:
    """Write ``data`` for an act; the file goes away again if the session's transaction rolls back."""
    session.connection()  # a transaction is open: its end decides for the file
    key = f"{act_id}/{secrets.token_hex(16)}"
    target = path_of(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    session.info.setdefault(_CREATED, []).append(target)
    return Stored(key, hashlib.sha256(data).hexdigest(), len(data))


def read(key: str, sha256: str, size: int) -> bytes:
    try:
        data = path_of(key).read_bytes()
    except OSError as exc:
        raise StorageError(f"stored file {key} cannot be read: {exc}") from exc
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise StorageError(f"stored file {key} does not match its checksum")
    return data


@event.listens_for(Session, "after_commit")
def _kept(session) -> None:
    session.info.pop(_CREATED, None)


@event.listens_for(Session, "after_soft_rollback")
def _dropped(session, previous_transaction) -> None:
    if previous_transaction.nested:
        return
    for p in session.info.pop(_CREATED, []):
        try:
            p.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("actes: file %s of a rolled-back transaction could not be removed: %s", p, exc)
