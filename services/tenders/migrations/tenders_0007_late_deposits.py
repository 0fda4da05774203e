"""tenders: deposits received out of time are kept, marked late, with the moment their reception began

Revision ID: tenders_0007_late_deposits
Revises: cemetery_0003_plan_version
Create Date: 2026-12-07 13:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'tenders_0007_late_deposits'
down_revision = 'cemetery_0003_plan_version'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('began_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.drop_column('began_at')
        batch_op.drop_column('late')
