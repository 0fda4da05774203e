"""cadastre: imports of a whole département's plans (one vintage per commune, resumable, progress)

Revision ID: cadastre_0006_department_imports
Revises: portal_0010_departements
Create Date: 2026-12-07 05:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'cadastre_0006_department_imports'
down_revision = 'portal_0010_departements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cadastre_department_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=3), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('vintage', sa.String(length=7), nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('parcels', sa.Integer(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('started_by', sa.String(length=254), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cadastre_department_import'))
    )
    with op.batch_alter_table('cadastre_department_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cadastre_department_import_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_cadastre_department_import_signature'), ['signature'], unique=False)


def downgrade():
    with op.batch_alter_table('cadastre_department_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cadastre_department_import_signature'))
        batch_op.drop_index(batch_op.f('ix_cadastre_department_import_department_code'))
    op.drop_table('cadastre_department_import')
