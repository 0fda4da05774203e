"""What the operations side keeps in the database: one row per backup run (department-wide, no territory)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


class BackupRun(db.Model):
    """A run of ``flask ops backup`` (or of the nightly task), and the verification of its archive once made."""

    __tablename__ = "ops_backup_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, ok, copy_failed (archive kept here), failed
    archive: Mapped[str] = mapped_column(String(255), default="")  # file name in BACKUP_DIR
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    encrypted: Mapped[bool] = mapped_column(default=False)
    backend: Mapped[str] = mapped_column(String(20), default="")  # sqlite, postgresql
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    files: Mapped[int] = mapped_column(default=0)
    copies: Mapped[list] = mapped_column(JSON, default=list)  # where the archive was copied
    error: Mapped[str] = mapped_column(Text, default="")  # English, for operators
    verified_at: Mapped[dt.datetime | None]
    verification: Mapped[str] = mapped_column(String(20), default="")  # "", ok, failed
    verification_detail: Mapped[str] = mapped_column(Text, default="")
