"""merge the service branches into one head

The four services were first built side by side, each on a branch of its own from the portal's revision. This
revision joins them so that `flask db upgrade` (one head) builds everything. From here on a new revision, of the
portal or of a service, goes on top of the current head (`flask db revision` / `flask db migrate` pick it).

Revision ID: merge_0001
Revises: alerts_0003, cadastre_0003, electoral_0002, tenders_0001
Create Date: 2026-11-23 13:14:57.543590

"""
# revision identifiers, used by Alembic.
revision = 'merge_0001'
down_revision = ('alerts_0003', 'cadastre_0003', 'electoral_0002', 'tenders_0001')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
