"""merge the branches of 7 December, fifth session

Revision ID: merge_0007
Revises: merge_0006, cemetery_0005_ordered_search, desk_0016_search_window_scalar, actes_0015_credentials_rls, cadastre_0007_dept_import_rls, desk_0017_owned_rows_rls
Create Date: 2026-12-07 17:35:52.093938

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'merge_0007'
down_revision = ('merge_0006', 'cemetery_0005_ordered_search', 'desk_0016_search_window_scalar', 'actes_0015_credentials_rls', 'cadastre_0007_dept_import_rls', 'desk_0017_owned_rows_rls')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
