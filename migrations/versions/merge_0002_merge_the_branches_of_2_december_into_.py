"""merge the branches of 2 December into one head

The portal (support sessions) and the four services each added revisions on top of merge_0001 side by side. This
revision joins them so that `flask db upgrade` (one head) builds everything; new revisions go on top of it.

Revision ID: merge_0002
Revises: alerts_0007, cadastre_0004, electoral_0003, portal_0002, tenders_0003
Create Date: 2026-12-02 05:24:45.134794

"""
# revision identifiers, used by Alembic.
revision = 'merge_0002'
down_revision = ('alerts_0007', 'cadastre_0004', 'electoral_0003', 'portal_0002', 'tenders_0003')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
