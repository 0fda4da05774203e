"""merge the branches of 7 December into one head

Revision ID: merge_0003
Revises: desk_0003, actes_0002, electoral_0005, tenders_0004
Create Date: 2026-12-07 03:41:03.047496

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'merge_0003'
down_revision = ('desk_0003', 'actes_0002', 'electoral_0005', 'tenders_0004')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
