"""actes: séances of the council, délibérations with their votes, liste des délibérations, procès-verbal

Revision ID: actes_0010_seances
Revises: merge_0003
Create Date: 2026-12-07 05:40:00
"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

# revision identifiers, used by Alembic.
revision = 'actes_0010_seances'
down_revision = 'merge_0003'
branch_labels = None
depends_on = None

SCOPED = ("actes_seance", "actes_seance_item")


def upgrade():
    op.create_table('actes_seance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collectivity_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('held_at', sa.String(length=5), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('members_in_office', sa.Integer(), nullable=False),
    sa.Column('present', sa.JSON(), nullable=False),
    sa.Column('represented', sa.JSON(), nullable=False),
    sa.Column('absent', sa.JSON(), nullable=False),
    sa.Column('secretary', sa.String(length=200), nullable=False),
    sa.Column('list_key', sa.String(length=200), nullable=True),
    sa.Column('list_sha256', sa.String(length=64), nullable=True),
    sa.Column('list_size', sa.Integer(), nullable=True),
    sa.Column('list_published_at', sa.DateTime(), nullable=True),
    sa.Column('pv_key', sa.String(length=200), nullable=True),
    sa.Column('pv_sha256', sa.String(length=64), nullable=True),
    sa.Column('pv_size', sa.Integer(), nullable=True),
    sa.Column('pv_filename', sa.String(length=255), nullable=False),
    sa.Column('pv_uploaded_at', sa.DateTime(), nullable=True),
    sa.Column('pv_adopted_seance_id', sa.Integer(), nullable=True),
    sa.Column('pv_published_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['collectivity_id'], ['collectivity.id'], name=op.f('fk_actes_seance_collectivity_id_collectivity')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_actes_seance_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pv_adopted_seance_id'], ['actes_seance.id'], name=op.f('fk_actes_seance_pv_adopted_seance_id_actes_seance'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_seance'))
    )
    with op.batch_alter_table('actes_seance', schema=None) as batch_op:
        batch_op.create_index('ix_actes_seance_collectivity_held', ['collectivity_id', 'held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_seance_commune_insee'), ['commune_insee'], unique=False)

    op.create_table('actes_seance_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seance_id', sa.Integer(), nullable=False),
    sa.Column('act_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('votes_for', sa.Integer(), nullable=True),
    sa.Column('votes_against', sa.Integer(), nullable=True),
    sa.Column('abstentions', sa.Integer(), nullable=True),
    sa.Column('adopted', sa.Boolean(), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['actes_act.id'], name=op.f('fk_actes_seance_item_act_id_actes_act'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seance_id'], ['actes_seance.id'], name=op.f('fk_actes_seance_item_seance_id_actes_seance'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_seance_item')),
    sa.UniqueConstraint('act_id', name='uq_actes_seance_item_act')
    )
    with op.batch_alter_table('actes_seance_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_seance_item_commune_insee'), ['commune_insee'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_seance_item_seance_id'), ['seance_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # row-level security by territory
        for table in SCOPED:
            for stmt in rls_policy_sql(table):
                op.execute(stmt)


def downgrade():
    with op.batch_alter_table('actes_seance_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_seance_item_seance_id'))
        batch_op.drop_index(batch_op.f('ix_actes_seance_item_commune_insee'))
    op.drop_table('actes_seance_item')
    with op.batch_alter_table('actes_seance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_seance_commune_insee'))
        batch_op.drop_index('ix_actes_seance_collectivity_held')
    op.drop_table('actes_seance')
