"""electoral: covering index for voter search within a commune

Revision ID: electoral_0002
Revises: electoral_0001
Create Date: 2026-11-23 12:32:00

"""
from alembic import op


revision = "electoral_0002"
down_revision = "electoral_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("electoral_voter", schema=None) as batch_op:
        batch_op.create_index("ix_electoral_voter_search",
                              ["commune_insee", "status", "search_name", "search_address", "birth_date", "ine"], unique=False)


def downgrade():
    with op.batch_alter_table("electoral_voter", schema=None) as batch_op:
        batch_op.drop_index("ix_electoral_voter_search")
