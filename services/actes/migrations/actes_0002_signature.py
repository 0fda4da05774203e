"""actes: signature circuit (visa, signature, signers' certificates)

Revision ID: actes_0002
Revises: actes_0001
Create Date: 2026-12-07 02:38:40
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'actes_0002'
down_revision = 'actes_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('actes_signer_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('collectivity_id', sa.Integer(), nullable=False),
    sa.Column('pkcs12', sa.LargeBinary(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('not_after', sa.DateTime(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['collectivity_id'], ['collectivity.id'], name=op.f('fk_actes_signer_certificate_collectivity_id_collectivity')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_actes_signer_certificate_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_signer_certificate')),
    sa.UniqueConstraint('user_id', 'collectivity_id', name='uq_actes_signer_certificate')
    )
    with op.batch_alter_table('actes_signer_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_signer_certificate_collectivity_id'), ['collectivity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_signer_certificate_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visa_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('visa_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('signed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('signed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('signer_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_actes_act_visa_by_id_user_account'), 'user_account', ['visa_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_actes_act_signed_by_id_user_account'), 'user_account', ['signed_by_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.alter_column('signer_name', server_default=None)



def downgrade():
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_actes_act_signed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_actes_act_visa_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('signer_name')
        batch_op.drop_column('signed_at')
        batch_op.drop_column('signed_by_id')
        batch_op.drop_column('visa_at')
        batch_op.drop_column('visa_by_id')

    with op.batch_alter_table('actes_signer_certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_signer_certificate_user_id'))
        batch_op.drop_index(batch_op.f('ix_actes_signer_certificate_collectivity_id'))

    op.drop_table('actes_signer_certificate')
