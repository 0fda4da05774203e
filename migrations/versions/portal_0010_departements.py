"""several départements and intercommunal operators: historical collectivities, operators' communes

Revision ID: portal_0010_departements
Revises: merge_0003
Create Date: 2026-12-07 05:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'portal_0010_departements'
down_revision = 'merge_0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('collectivity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('historical_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('successor_insee', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('operator_code', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_collectivity_operator_code'), ['operator_code'])
    op.create_table('operator_commune',
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['collectivity.id'], name=op.f('fk_operator_commune_commune_id_collectivity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['operator_id'], ['collectivity.id'], name=op.f('fk_operator_commune_operator_id_collectivity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('operator_id', 'commune_id', name=op.f('pk_operator_commune'))
    )


def downgrade():
    op.drop_table('operator_commune')
    with op.batch_alter_table('collectivity', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_collectivity_operator_code'), type_='unique')
        batch_op.drop_column('operator_code')
        batch_op.drop_column('successor_insee')
        batch_op.drop_column('historical_since')
