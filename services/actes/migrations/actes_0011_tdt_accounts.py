"""TdT accounts: certificate read from its file, reminders

Revision ID: actes_0011_tdt_accounts
Revises: merge_0003
Create Date: 2026-12-07 05:12:07

Certificate reminders and TdT accounts are the department's records (no territory, no row-level security).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'actes_0011_tdt_accounts'
down_revision = 'merge_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('actes_certificate_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['actes_tdt_account.id'], name=op.f('fk_actes_certificate_reminder_account_id_actes_tdt_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_certificate_reminder')),
    sa.UniqueConstraint('account_id', 'expires_on', 'days', name='uq_actes_certificate_reminder')
    )
    with op.batch_alter_table('actes_certificate_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_certificate_reminder_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('actes_tdt_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_serial', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('certificate_subject', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('certificate_issuer', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('certificate_der', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('updated_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_actes_tdt_account_updated_by_id_user_account'), 'user_account', ['updated_by_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('actes_tdt_account', schema=None) as batch_op:
        for column in ('certificate_serial', 'certificate_subject', 'certificate_issuer'):
            batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table('actes_tdt_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_actes_tdt_account_updated_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('updated_by_id')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('certificate_der')
        batch_op.drop_column('certificate_issuer')
        batch_op.drop_column('certificate_subject')
        batch_op.drop_column('certificate_serial')

    with op.batch_alter_table('actes_certificate_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_certificate_reminder_account_id'))

    op.drop_table('actes_certificate_reminder')
