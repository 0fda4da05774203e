"""merge the branches of 7 December (fourth session) into one head

Revision ID: merge_0006
Revises: cemetery_0004_name_search, desk_0015_department_audiences, tenders_0007_late_deposits
Create Date: 2026-12-07 14:07:37.352754

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'merge_0006'
down_revision = ('cemetery_0004_name_search', 'desk_0015_department_audiences', 'tenders_0007_late_deposits')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
