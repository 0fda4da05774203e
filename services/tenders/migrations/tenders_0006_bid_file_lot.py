"""tenders: the lot of each deposited file (a deposit form per lot)

Revision ID: tenders_0006_bid_file_lot
Revises: merge_0004
Create Date: 2026-12-07 08:35:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'tenders_0006_bid_file_lot'
down_revision = 'merge_0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tender_bid_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lot_number', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('tender_bid_file', schema=None) as batch_op:
        batch_op.drop_column('lot_number')
