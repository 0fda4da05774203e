"""Cemetery: the scanned plan of each cemetery (the image's file and size) and the zones, allées and emplacements
placed on it in the image's pixels; the « Mort pour la France » mention of a deceased; the register jobs built by a
Celery task (row-level security).

Revision ID: cemetery_0002_scan_mpf_jobs
Revises: merge_0004
Create Date: 2026-12-07 08:40:00

"""
from alembic import op
import sqlalchemy as sa

from portal.tenancy import rls_policy_sql

revision = 'cemetery_0002_scan_mpf_jobs'
down_revision = 'merge_0004'
branch_labels = None
depends_on = None

SHAPES = ("cemetery_cemetery", "cemetery_zone", "cemetery_alley", "cemetery_plot")


def upgrade():
    for table in SHAPES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('image_geometry', sa.JSON(), nullable=True))
    with op.batch_alter_table('cemetery_cemetery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_image_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('plan_image_sha256', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('plan_image_size', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('plan_image_kind', sa.String(length=8), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('plan_image_width', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('plan_image_height', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('cemetery_deceased', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mpf', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('mpf_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('mpf_source', sa.String(length=200), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_cemetery_deceased_mpf'), ['mpf'], unique=False)

    op.create_table('cemetery_register_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('file_key', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_cemetery_register_job_user_id_user_account'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cemetery_register_job'))
    )
    with op.batch_alter_table('cemetery_register_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cemetery_register_job_commune_insee'), ['commune_insee'], unique=False)
        batch_op.create_index(batch_op.f('ix_cemetery_register_job_status'), ['status'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for stmt in rls_policy_sql("cemetery_register_job"):
            op.execute(stmt)


def downgrade():
    with op.batch_alter_table('cemetery_register_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cemetery_register_job_status'))
        batch_op.drop_index(batch_op.f('ix_cemetery_register_job_commune_insee'))
    op.drop_table('cemetery_register_job')
    with op.batch_alter_table('cemetery_deceased', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cemetery_deceased_mpf'))
        batch_op.drop_column('mpf_source')
        batch_op.drop_column('mpf_on')
        batch_op.drop_column('mpf')
    with op.batch_alter_table('cemetery_cemetery', schema=None) as batch_op:
        for column in ('plan_image_height', 'plan_image_width', 'plan_image_kind', 'plan_image_size',
                       'plan_image_sha256', 'plan_image_key'):
            batch_op.drop_column(column)
    for table in SHAPES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('image_geometry')
