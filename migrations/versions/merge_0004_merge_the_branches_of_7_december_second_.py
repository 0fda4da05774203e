"""merge the branches of 7 December (second session) into one head

Revision ID: merge_0004
Revises: portal_0011_ops, actes_0010_seances, actes_0012_public_index, cadastre_0006_department_imports, cemetery_0001_plan, desk_0010_library, desk_0011_jobs_directory, tenders_0005_opening
Create Date: 2026-12-07 06:41:44.437039

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'merge_0004'
down_revision = ('portal_0011_ops', 'actes_0010_seances', 'actes_0012_public_index', 'cadastre_0006_department_imports', 'cemetery_0001_plan', 'desk_0010_library', 'desk_0011_jobs_directory', 'tenders_0005_opening')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
