"""Cemetery: the token of each commune's plan, replaced by every write the plan shows, so that the plan's response
is built once per change (row-level security).

Revision ID: cemetery_0003_plan_version
Revises: merge_0005
Create Date: 2026-12-07 09:50:00

"""
from alembic import op
import sqlalchemy as sa

from portal.tenancy import rls_policy_sql

revision = 'cemetery_0003_plan_version'
down_revision = 'merge_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cemetery_plan_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cemetery_plan_version')),
    sa.UniqueConstraint('commune_insee', name=op.f('uq_cemetery_plan_version_commune_insee'))
    )
    with op.batch_alter_table('cemetery_plan_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cemetery_plan_version_commune_insee'), ['commune_insee'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for stmt in rls_policy_sql("cemetery_plan_version"):
            op.execute(stmt)


def downgrade():
    with op.batch_alter_table('cemetery_plan_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cemetery_plan_version_commune_insee'))
    op.drop_table('cemetery_plan_version')
