"""backup runs (portal/ops)

Revision ID: portal_0011_ops
Revises: merge_0003
Create Date: 2026-12-07 05:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'portal_0011_ops'
down_revision = 'merge_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ops_backup_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('archive', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('backend', sa.String(length=20), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('files', sa.Integer(), nullable=False),
    sa.Column('copies', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('verification', sa.String(length=20), nullable=False),
    sa.Column('verification_detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_backup_run'))
    )
    with op.batch_alter_table('ops_backup_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ops_backup_run_started_at'), ['started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ops_backup_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_backup_run_started_at'))
    op.drop_table('ops_backup_run')
