"""actes: each collectivity's TdT client certificate (sealed), séances' convocation (ordre du jour, date, PDF, second
convocation) and quorum

Revision ID: actes_0013_convocation
Revises: merge_0004
Create Date: 2026-12-07 08:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'actes_0013_convocation'
down_revision = 'merge_0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actes_tdt_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_credential', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('client_certificate_subject', sa.String(length=300), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('client_certificate_expires_on', sa.Date(), nullable=True))
    with op.batch_alter_table('actes_seance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agenda', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('convened_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('convocation_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('convocation_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('convocation_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('second_convocation_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('quorum_reached', sa.Boolean(), nullable=True))
        batch_op.create_foreign_key('fk_actes_seance_second_convocation_of', 'actes_seance',
                                    ['second_convocation_of_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('actes_seance', schema=None) as batch_op:
        batch_op.drop_constraint('fk_actes_seance_second_convocation_of', type_='foreignkey')
        for name in ('quorum_reached', 'second_convocation_of_id', 'convocation_size', 'convocation_sha256',
                     'convocation_key', 'convened_on', 'agenda'):
            batch_op.drop_column(name)
    with op.batch_alter_table('actes_tdt_account', schema=None) as batch_op:
        for name in ('client_certificate_expires_on', 'client_certificate_subject', 'client_credential'):
            batch_op.drop_column(name)
