"""tenders: deposit numbers unique per consultation

Revision ID: tenders_0005_opening
Revises: merge_0003
Create Date: 2026-12-07 05:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'tenders_0005_opening'
down_revision = 'merge_0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tender_bid') as batch:
        batch.create_unique_constraint('uq_tender_bid_number', ['tender_id', 'number'])


def downgrade():
    with op.batch_alter_table('tender_bid') as batch:
        batch.drop_constraint('uq_tender_bid_number', type_='unique')
