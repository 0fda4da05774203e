"""tenders: attachments and DCE zips move from the database to the file storage (TENDERS_STORAGE_DIR)

Each existing attachment's bytes and each tender's DCE zip are written under the storage folder
(``attachments/<tender id>/<random key>``, ``dce/<tender id>/<random key>``, the layout of
services/tenders/storage.py), their SHA-256 and size kept on the row, then the binary columns are dropped. The
downgrade reads the files back into the columns (and leaves the files in place).

The storage folder is the app's ``TENDERS_STORAGE_DIR`` (default ``<instance>/tenders/files``): run the migration
with the same configuration as the application.

Revision ID: tenders_0003
Revises: tenders_0002
Create Date: 2026-12-02 04:40:00

"""
import hashlib
import os
import secrets
from pathlib import Path

from alembic import op
import sqlalchemy as sa
from flask import current_app


revision = 'tenders_0003'
down_revision = 'tenders_0002'
branch_labels = None
depends_on = None


def _root() -> Path:
    configured = current_app.config.get("TENDERS_STORAGE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "tenders" / "files"


def _write(kind: str, tender_id: int, data: bytes) -> tuple[str, str, int]:
    key = f"{kind}/{tender_id}/{secrets.token_hex(16)}"
    target = _root() / key
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return key, hashlib.sha256(data).hexdigest(), len(data)


def _read(key: str, sha256: str) -> bytes:
    data = (_root() / key).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"stored file {key} does not match its checksum: downgrade stopped")
    return data


def upgrade():
    with op.batch_alter_table('tender_attachment') as batch:
        batch.add_column(sa.Column('storage_key', sa.String(length=80), nullable=False, server_default=''))
        batch.add_column(sa.Column('sha256', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('size', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('tender') as batch:
        batch.add_column(sa.Column('dce_key', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('dce_sha256', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('dce_size', sa.Integer(), nullable=True))

    conn = op.get_bind()
    attachment = sa.table('tender_attachment', sa.column('id', sa.Integer), sa.column('tender_id', sa.Integer),
                          sa.column('content', sa.LargeBinary), sa.column('storage_key', sa.String),
                          sa.column('sha256', sa.String), sa.column('size', sa.Integer))
    tender = sa.table('tender', sa.column('id', sa.Integer), sa.column('dce_zip', sa.LargeBinary),
                      sa.column('dce_key', sa.String), sa.column('dce_sha256', sa.String),
                      sa.column('dce_size', sa.Integer))
    moved = 0
    for row_id, tender_id in conn.execute(sa.select(attachment.c.id, attachment.c.tender_id)).all():
        data = conn.execute(sa.select(attachment.c.content).where(attachment.c.id == row_id)).scalar() or b""
        key, digest, size = _write("attachments", tender_id, bytes(data))
        conn.execute(attachment.update().where(attachment.c.id == row_id)
                     .values(storage_key=key, sha256=digest, size=size))
        moved += 1
    for (row_id,) in conn.execute(sa.select(tender.c.id).where(tender.c.dce_zip.is_not(None))).all():
        data = conn.execute(sa.select(tender.c.dce_zip).where(tender.c.id == row_id)).scalar()
        key, digest, size = _write("dce", row_id, bytes(data))
        conn.execute(tender.update().where(tender.c.id == row_id)
                     .values(dce_key=key, dce_sha256=digest, dce_size=size))
        moved += 1
    if moved:
        print(f"tenders_0003: {moved} file(s) moved to {_root()}")

    with op.batch_alter_table('tender_attachment') as batch:
        batch.drop_column('content')
    with op.batch_alter_table('tender') as batch:
        batch.drop_column('dce_zip')


def downgrade():
    with op.batch_alter_table('tender_attachment') as batch:
        batch.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('tender') as batch:
        batch.add_column(sa.Column('dce_zip', sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    attachment = sa.table('tender_attachment', sa.column('id', sa.Integer), sa.column('content', sa.LargeBinary),
                          sa.column('storage_key', sa.String), sa.column('sha256', sa.String))
    tender = sa.table('tender', sa.column('id', sa.Integer), sa.column('dce_zip', sa.LargeBinary),
                      sa.column('dce_key', sa.String), sa.column('dce_sha256', sa.String))
    for row_id, key, digest in conn.execute(sa.select(attachment.c.id, attachment.c.storage_key,
                                                      attachment.c.sha256)).all():
        conn.execute(attachment.update().where(attachment.c.id == row_id).values(content=_read(key, digest)))
    for row_id, key, digest in conn.execute(sa.select(tender.c.id, tender.c.dce_key, tender.c.dce_sha256)
                                            .where(tender.c.dce_key.is_not(None))).all():
        conn.execute(tender.update().where(tender.c.id == row_id).values(dce_zip=_read(key, digest)))
    with op.batch_alter_table('tender_attachment') as batch:
        batch.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column('size')
        batch.drop_column('sha256')
        batch.drop_column('storage_key')
    with op.batch_alter_table('tender') as batch:
        batch.drop_column('dce_size')
        batch.drop_column('dce_sha256')
        batch.drop_column('dce_key')
