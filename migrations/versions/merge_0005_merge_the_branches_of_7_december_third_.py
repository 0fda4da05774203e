"""merge the branches of 7 December (third session) into one head

Revision ID: merge_0005
Revises: actes_0014_list_index, cemetery_0002_scan_mpf_jobs, desk_0014_library_subfolders, tenders_0006_bid_file_lot
Create Date: 2026-12-07 09:42:38.144900

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'merge_0005'
down_revision = ('actes_0014_list_index', 'cemetery_0002_scan_mpf_jobs', 'desk_0014_library_subfolders', 'tenders_0006_bid_file_lot')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
