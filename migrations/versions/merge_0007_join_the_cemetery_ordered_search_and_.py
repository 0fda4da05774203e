"""join the cemetery ordered search and the desk's two 0016 migrations

Revision ID: merge_0007
Revises: merge_0006, cemetery_0005_ordered_search, desk_0016_forum_category_rls, desk_0016_search_window_scalar
Create Date: 2026-12-07 17:15:26.020777

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'merge_0007'
down_revision = ('merge_0006', 'cemetery_0005_ordered_search', 'desk_0016_forum_category_rls', 'desk_0016_search_window_scalar')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
